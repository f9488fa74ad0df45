package builtin_test

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/tessera-run/tessera/tool/builtin"
)

// FuzzCalculator feeds arbitrary expressions (the model's input is
// untrusted) and checks the calculator never panics and only ever answers
// with a finite number. The seed corpus is in testdata/fuzz/FuzzCalculator.
func FuzzCalculator(f *testing.F) {
	for _, seed := range []string{"1+2*3", "-2^2", "2^3^2", "sqrt(16)/0", "max(1,2,3)", "((((1))))", "1e308*10", "round(2.5, 1)"} {
		f.Add(seed)
	}
	calc := builtin.NewCalculator()
	f.Fuzz(func(t *testing.T, expr string) {
		args, err := json.Marshal(map[string]string{"expression": expr})
		if err != nil {
			t.Skip() // not representable as a JSON string
		}
		res, err := calc.Call(context.Background(), args)
		if err != nil {
			return
		}
		v, perr := strconv.ParseFloat(res.Content, 64)
		if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%q = %q, want a finite number", expr, res.Content)
		}
	})
}
