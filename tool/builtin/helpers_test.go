package builtin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/tool"
)

// call runs tl with args given as a Go value and fails the test on error.
func call(t *testing.T, tl tool.Tool, args any) tool.Result {
	t.Helper()
	res, err := callErr(t, tl, args)
	if err != nil {
		t.Fatalf("%s(%v): %v", tl.Name(), args, err)
	}
	return res
}

// callErr runs tl with args given as a Go value (or a JSON string).
func callErr(t *testing.T, tl tool.Tool, args any) (tool.Result, error) {
	t.Helper()
	raw, ok := args.(string)
	if !ok {
		b, err := json.Marshal(args)
		if err != nil {
			t.Fatalf("marshal args: %v", err)
		}
		raw = string(b)
	}
	return tl.Call(context.Background(), json.RawMessage(raw))
}

// wantError fails unless err's text contains want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q, want it to contain %q", err, want)
	}
}

// wantContains fails unless s contains every one of wants.
func wantContains(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("output does not contain %q:\n%s", w, s)
		}
	}
}
