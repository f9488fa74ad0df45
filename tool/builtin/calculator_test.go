package builtin_test

import (
	"strings"
	"testing"

	"github.com/tessera-run/tessera/tool/builtin"
)

func TestCalculator(t *testing.T) {
	t.Parallel()

	tests := []struct{ expr, want string }{
		{"1 + 2 * 3", "7"},
		{"(1 + 2) * 3", "9"},
		{"10 - 4 - 3", "3"}, // left-associative
		{"100 / 10 / 5", "2"},
		{"7 % 3", "1"},
		{"-7 % 3", "-1"},
		{"2^3^2", "512"}, // right-associative: 2^(3^2)
		{"2**3**2", "512"},
		{"(2^3)^2", "64"},
		{"-2^2", "-4"}, // unary minus binds looser than ^, as in mathematics
		{"(-2)^2", "4"},
		{"2^-1", "0.5"},
		{"2 * -3", "-6"},
		{"--3", "3"},
		{"+3", "3"},
		{"0.1 + 0.2", "0.3"},
		{".5 * 4", "2"},
		{"1.5e3", "1500"},
		{"2E-3 * 1000", "2"},
		{"1e21", "1e+21"},
		{"1/3", "0.333333333333333"},
		{"sqrt(16)", "4"},
		{"abs(-2.5)", "2.5"},
		{"round(2.5)", "3"},
		{"round(3.14159, 2)", "3.14"},
		{"floor(-1.5)", "-2"},
		{"ceil(1.2)", "2"},
		{"min(3, 1, 2)", "1"},
		{"max(3, 1, 2)", "3"},
		{"log(1000)", "3"},
		{"ln(e)", "1"},
		{"exp(0)", "1"},
		{"sin(0)", "0"},
		{"cos(pi)", "-1"},
		{"tan(0)", "0"},
		{"PI * 2", "6.28318530717959"},
		{"Sqrt( 9 )", "3"},
		{"2^53 + 1", "9007199254740992"},
		{" ( 1 +\n2 ) ", "3"},
		{"-0", "0"},
	}
	calc := builtin.NewCalculator()
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			t.Parallel()
			got := call(t, calc, map[string]string{"expression": tt.expr}).Content
			if got != tt.want {
				t.Errorf("%s = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
}

func TestCalculatorErrors(t *testing.T) {
	t.Parallel()

	tests := []struct{ args, want string }{
		{`{"expression": "1/0"}`, "1/0: division by zero"},
		{`{"expression": "5 % 0"}`, "5 % 0: modulo by zero"},
		{`{"expression": "sqrt(-4)"}`, "sqrt(-4): square root of a negative number"},
		{`{"expression": "ln(0)"}`, "logarithm of a number that is not positive"},
		{`{"expression": "(-8)^(1/3)"}`, "(-8)^(1/3): the result is not a real number"},
		{`{"expression": "10^400"}`, "10^400: the result is too large"},
		{`{"expression": "exp(1000)"}`, "exp(1000): the result is too large"},
		{`{"expression": "1e400"}`, "number 1e400 is too large"},
		{`{"expression": "2 +"}`, "unexpected end of expression"},
		{`{"expression": "(1 + 2"}`, `missing ')' at the end`},
		{`{"expression": "1 + 2)"}`, `unexpected ')' at position 6`},
		{`{"expression": "2 pi"}`, `unexpected 'p' at position 3`},
		{`{"expression": "2e"}`, `unexpected 'e' at position 2`},
		{`{"expression": "1.2.3"}`, `unexpected '.' at position 4`},
		{`{"expression": "."}`, `invalid number "."`},
		{`{"expression": "foo + 1"}`, `unknown name "foo"`},
		{`{"expression": "bar(1)"}`, `unknown function "bar"`},
		{`{"expression": "sqrt"}`, "sqrt is a function: write sqrt(x)"},
		{`{"expression": "sqrt(1, 2)"}`, "sqrt takes 1 argument(s), got 2"},
		{`{"expression": "max()"}`, "max takes at least 1 argument(s), got 0"},
		{`{"expression": "round(1, 0.5)"}`, "digits must be a whole number"},
		{`{"expression": "import os"}`, `unknown name "import"`},
		{`{"expression": "2 & 3"}`, `unexpected '&'`},
		{`{"expression": "   "}`, "expression is required"},
		{`{}`, "expression is required"},
		{`{"expression": 12}`, "expression must be a string, not number"},
		{`{"expr": "1"}`, `unknown field "expr"`},
	}
	calc := builtin.NewCalculator()
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			_, err := callErr(t, calc, tt.args)
			wantError(t, err, tt.want)
		})
	}
}

func TestCalculatorLimits(t *testing.T) {
	t.Parallel()

	calc := builtin.NewCalculator()
	long := strings.Repeat("1+", 600) + "1"
	_, err := callErr(t, calc, map[string]string{"expression": long})
	wantError(t, err, "longer than 1000 characters")

	deep := strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100)
	_, err = callErr(t, calc, map[string]string{"expression": deep})
	wantError(t, err, "nested more than 64 levels")

	minus := strings.Repeat("-", 100) + "1"
	_, err = callErr(t, calc, map[string]string{"expression": minus})
	wantError(t, err, "nested more than 64 levels")

	powers := strings.Repeat("1^", 100) + "1"
	_, err = callErr(t, calc, map[string]string{"expression": powers})
	wantError(t, err, "nested more than 64 levels")
}
