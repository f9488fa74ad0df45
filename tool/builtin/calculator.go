package builtin

import (
	"context"
	"encoding/json"
	"math"
	"strconv"

	"github.com/tessera-run/tessera/tool"
)

const calculatorSchema = `{
  "type": "object",
  "properties": {
    "expression": {
      "type": "string",
      "description": "An arithmetic expression, e.g. \"(2 + 3) * sqrt(16) / 2^3\"."
    }
  },
  "required": ["expression"],
  "additionalProperties": false
}`

// NewCalculator returns the calculator tool: it evaluates arithmetic with a
// hand-written parser, so no code is ever run.
func NewCalculator() tool.Tool {
	return tool.Func("calculator",
		"Evaluate an arithmetic expression exactly and return the number. "+
			"Operators: + - * / % ^ (power, right-associative; ** also works) and parentheses. "+
			"Functions: sqrt, abs, round(x[, digits]), floor, ceil, min, max, log (base 10), ln, exp, "+
			"sin, cos, tan (radians). Constants: pi, e. Use it instead of doing arithmetic in your head.",
		json.RawMessage(calculatorSchema), callCalculator)
}

func callCalculator(_ context.Context, args json.RawMessage) (tool.Result, error) {
	var in struct {
		Expression string `json:"expression"`
	}
	if err := decodeArgs(args, &in); err != nil {
		return tool.Result{}, err
	}
	if err := requireString("expression", in.Expression); err != nil {
		return tool.Result{}, err
	}
	v, err := evaluate(in.Expression)
	if err != nil {
		return tool.Result{}, err
	}
	return tool.Result{Content: formatNumber(v)}, nil
}

// formatNumber prints integers in full and other values with 15
// significant digits, which hides binary noise such as 0.1+0.2 =
// 0.30000000000000004.
func formatNumber(v float64) string {
	if v == 0 {
		return "0" // and never "-0"
	}
	if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 15, 64)
}
