package builtin

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

type function struct {
	minArgs, maxArgs int // maxArgs < 0: no upper bound
	fn               func(args []float64) (float64, error)
}

var functions = map[string]function{
	"sqrt": unaryFn(func(x float64) (float64, error) {
		if x < 0 {
			return 0, errors.New("square root of a negative number")
		}
		return math.Sqrt(x), nil
	}),
	"log":   unaryFn(logarithm(math.Log10)),
	"ln":    unaryFn(logarithm(math.Log)),
	"abs":   plain(math.Abs),
	"floor": plain(math.Floor),
	"ceil":  plain(math.Ceil),
	"exp":   plain(math.Exp),
	"sin":   plain(math.Sin),
	"cos":   plain(math.Cos),
	"tan":   plain(math.Tan),
	"round": {1, 2, round},
	"min":   {1, -1, func(a []float64) (float64, error) { return slices.Min(a), nil }},
	"max":   {1, -1, func(a []float64) (float64, error) { return slices.Max(a), nil }},
}

var constants = map[string]float64{"pi": math.Pi, "e": math.E}

func unaryFn(f func(float64) (float64, error)) function {
	return function{1, 1, func(a []float64) (float64, error) { return f(a[0]) }}
}

func plain(f func(float64) float64) function {
	return unaryFn(func(x float64) (float64, error) { return f(x), nil })
}

func logarithm(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if x <= 0 {
			return 0, errors.New("logarithm of a number that is not positive")
		}
		return f(x), nil
	}
}

// round rounds half away from zero, to digits decimal places when given.
func round(a []float64) (float64, error) {
	if len(a) == 1 {
		return math.Round(a[0]), nil
	}
	d := a[1]
	if d != math.Trunc(d) || d < -15 || d > 15 {
		return 0, errors.New("round: digits must be a whole number from -15 to 15")
	}
	scale := math.Pow(10, d)
	return math.Round(a[0]*scale) / scale, nil
}

func callFunction(name string, args []float64) (float64, error) {
	f, ok := functions[name]
	if !ok {
		return 0, fmt.Errorf("unknown function %q (functions: %s)", name, strings.Join(functionNames(), ", "))
	}
	if len(args) < f.minArgs || f.maxArgs >= 0 && len(args) > f.maxArgs {
		return 0, fmt.Errorf("%s takes %s, got %d", name, arity(f), len(args))
	}
	return f.fn(args)
}

func arity(f function) string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d argument(s)", f.minArgs)
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("%d argument(s)", f.minArgs)
	default:
		return fmt.Sprintf("%d to %d arguments", f.minArgs, f.maxArgs)
	}
}

func constant(name string) (float64, error) {
	if v, ok := constants[name]; ok {
		return v, nil
	}
	if _, ok := functions[name]; ok {
		return 0, fmt.Errorf("%s is a function: write %s(x)", name, name)
	}
	return 0, fmt.Errorf("unknown name %q (constants: pi, e; functions: %s)", name, strings.Join(functionNames(), ", "))
}

func functionNames() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
