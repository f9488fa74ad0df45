package tool_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tessera-run/tessera/tool"
)

func constTool(content string, err error) tool.Tool {
	return tool.Func("const", "", emptySchema, func(context.Context, json.RawMessage) (tool.Result, error) {
		return tool.Result{Content: content}, err
	})
}

func TestInvokeArguments(t *testing.T) {
	t.Parallel()

	tests := []struct {
		args    string
		want    string
		isError bool
	}{
		{``, `{}`, false},
		{"  \n", `{}`, false},
		{` {"a":1} `, `{"a":1}`, false},
		{`[1]`, "Error: invalid arguments for tool echo: arguments must be a JSON object, got an array", true},
		{`"x"`, "Error: invalid arguments for tool echo: arguments must be a JSON object, got a string", true},
		{`null`, "Error: invalid arguments for tool echo: arguments must be a JSON object, got null", true},
		{`42`, "Error: invalid arguments for tool echo: arguments must be a JSON object, got a number", true},
		{`{"a":`, "Error: invalid arguments for tool echo: arguments are not valid JSON", true},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			obs := tool.Invoke(context.Background(), echoTool("echo"), json.RawMessage(tt.args), 0, 0)
			if obs.Content != tt.want || obs.IsError != tt.isError {
				t.Errorf("Invoke(%q) = %q (IsError %v), want %q (IsError %v)", tt.args, obs.Content, obs.IsError, tt.want, tt.isError)
			}
		})
	}
}

func TestInvokeError(t *testing.T) {
	t.Parallel()

	obs := tool.Invoke(context.Background(), constTool("ignored", errors.New("city not found")), nil, 0, 0)
	if obs.Content != "Error: city not found" || !obs.IsError || obs.Panic != nil {
		t.Errorf("Invoke = %+v, want the error text as an error observation", obs)
	}
}

func TestInvokeEmptyResult(t *testing.T) {
	t.Parallel()

	obs := tool.Invoke(context.Background(), constTool("", nil), nil, 0, 0)
	if obs.Content != "(no output)" || obs.IsError {
		t.Errorf("Invoke = %+v, want (no output)", obs)
	}
}

func TestInvokePanic(t *testing.T) {
	t.Parallel()

	boom := tool.Func("boom", "", emptySchema, func(_ context.Context, args json.RawMessage) (tool.Result, error) {
		var items []string
		return tool.Result{Content: items[len(args)]}, nil // a real runtime panic: index out of range
	})
	obs := tool.Invoke(context.Background(), boom, nil, time.Minute, 0)
	if obs.Content != "Error: tool boom failed: internal error" || !obs.IsError {
		t.Errorf("Content = %q, IsError = %v", obs.Content, obs.IsError)
	}
	if obs.Panic == nil {
		t.Error("Panic is nil, want the recovered value for the caller's log")
	}
	for _, leak := range []string{"goroutine", ".go:", "index out of range"} {
		if strings.Contains(obs.Content, leak) {
			t.Errorf("Content %q leaks %q", obs.Content, leak)
		}
	}
}

func TestInvokeTimeout(t *testing.T) {
	t.Parallel()

	t.Run("tool honours ctx", func(t *testing.T) {
		t.Parallel()
		wait := tool.Func("wait", "", emptySchema, func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
			<-ctx.Done()
			return tool.Result{}, ctx.Err()
		})
		obs := tool.Invoke(context.Background(), wait, nil, 20*time.Millisecond, 0)
		assertTimedOut(t, obs, "wait", 20*time.Millisecond)
	})
	t.Run("tool ignores ctx", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		stuck := tool.Func("stuck", "", emptySchema, func(context.Context, json.RawMessage) (tool.Result, error) {
			<-release
			return tool.Result{Content: "too late"}, nil
		})
		obs := tool.Invoke(context.Background(), stuck, nil, 20*time.Millisecond, 0)
		assertTimedOut(t, obs, "stuck", 20*time.Millisecond)
	})
}

func assertTimedOut(t *testing.T, obs tool.Observation, name string, timeout time.Duration) {
	t.Helper()
	want := "Error: tool " + name + " timed out after " + timeout.String()
	if obs.Content != want || !obs.IsError {
		t.Errorf("Invoke = %q (IsError %v), want %q", obs.Content, obs.IsError, want)
	}
	if obs.Duration < timeout {
		t.Errorf("Duration = %s, want at least %s", obs.Duration, timeout)
	}
}

func TestInvokeCancelled(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wait := tool.Func("wait", "", emptySchema, func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		<-ctx.Done()
		return tool.Result{}, ctx.Err()
	})
	obs := tool.Invoke(ctx, wait, nil, time.Minute, 0)
	if obs.Content != "Error: tool wait was cancelled" || !obs.IsError {
		t.Errorf("Invoke = %+v", obs)
	}
}

func TestInvokeTruncates(t *testing.T) {
	t.Parallel()

	content := strings.Repeat("é", 50) // 2 bytes each
	max := len(tool.TruncationMarker) + 7
	obs := tool.Invoke(context.Background(), constTool(content, nil), nil, 0, max)
	if !obs.Truncated {
		t.Error("Truncated = false")
	}
	if len(obs.Content) > max || !utf8.ValidString(obs.Content) {
		t.Errorf("Content = %q (%d bytes), want valid UTF-8 of at most %d bytes", obs.Content, len(obs.Content), max)
	}
	if want := strings.Repeat("é", 3) + tool.TruncationMarker; obs.Content != want {
		t.Errorf("Content = %q, want %q", obs.Content, want)
	}
}

func TestInvokeKeepsToolTruncation(t *testing.T) {
	t.Parallel()

	partial := tool.Func("partial", "", emptySchema, func(context.Context, json.RawMessage) (tool.Result, error) {
		return tool.Result{Content: "first part", Truncated: true}, nil
	})
	obs := tool.Invoke(context.Background(), partial, nil, 0, 1000)
	if !obs.Truncated || obs.Content != "first part" {
		t.Errorf("Invoke = %+v, want the tool's own truncation kept", obs)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		s       string
		max     int
		want    string
		wantCut bool
	}{
		{"hello", 0, "hello", false},
		{"hello", 5, "hello", false},
		{"hello", -1, "hello", false},
		{"hello world, this is long", 2, tool.TruncationMarker, true},
		{"日本語のテキストです。とても長い", len(tool.TruncationMarker) + 4, "日" + tool.TruncationMarker, true},
	}
	for _, tt := range tests {
		got, cut := tool.Truncate(tt.s, tt.max)
		if got != tt.want || cut != tt.wantCut {
			t.Errorf("Truncate(%q, %d) = %q, %v; want %q, %v", tt.s, tt.max, got, cut, tt.want, tt.wantCut)
		}
	}
}

func TestInvokeRepairsInvalidUTF8(t *testing.T) {
	t.Parallel()

	obs := tool.Invoke(context.Background(), constTool("ok\xffok", nil), nil, 0, 0)
	if obs.Content != "ok\uFFFDok" {
		t.Errorf("Content = %q", obs.Content)
	}
}
