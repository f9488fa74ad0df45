package gemini

import (
	"encoding/json"
	"net/http"
	"testing"

	"google.golang.org/genai"

	"github.com/tessera-run/tessera/llm"
)

func TestRetryDelaySeconds(t *testing.T) {
	t.Parallel()
	info := func(delay any) map[string]any { return map[string]any{"@type": retryInfoType, "retryDelay": delay} }
	cases := []struct {
		details []map[string]any
		want    int
	}{
		{nil, 0},
		{[]map[string]any{info("34s")}, 34},
		{[]map[string]any{info("0.2s")}, 1},
		{[]map[string]any{info("1.000000001s")}, 2},
		{[]map[string]any{info("0s")}, 0},
		{[]map[string]any{info("soon")}, 0},
		{[]map[string]any{info(map[string]any{"seconds": 3})}, 0},
		{[]map[string]any{{"@type": "type.googleapis.com/google.rpc.Help"}, info("5s")}, 5},
		{[]map[string]any{{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "retryDelay": "9s"}}, 0},
	}
	for _, tc := range cases {
		if got := retryDelaySeconds(tc.details); got != tc.want {
			t.Errorf("retryDelaySeconds(%v) = %d, want %d", tc.details, got, tc.want)
		}
	}
}

func TestKindOfStreamEvents(t *testing.T) {
	t.Parallel()
	// An error event may carry a gRPC status name and no code.
	cases := map[string]string{
		"RESOURCE_EXHAUSTED": llm.ErrKindRateLimited,
		"PERMISSION_DENIED":  llm.ErrKindAuth,
		"NOT_FOUND":          llm.ErrKindNotFound,
		"INVALID_ARGUMENT":   llm.ErrKindInvalid,
		"INTERNAL":           llm.ErrKindUnavailable,
		"":                   llm.ErrKindUnavailable,
	}
	for status, want := range cases {
		if got := kindOf(0, genai.APIError{Status: status, Message: "m"}); got != want {
			t.Errorf("kindOf(0, %s) = %q, want %q", status, got, want)
		}
	}
	if got := kindOf(0, genai.APIError{Status: "INVALID_ARGUMENT", Message: "API key expired. Please renew the API key."}); got != llm.ErrKindAuth {
		t.Errorf("an expired key is %q, want auth", got)
	}
	other := genai.APIError{Message: "the API key param is fine", Details: []map[string]any{{"reason": "BAD_SCHEMA"}}}
	if got := kindOf(http.StatusBadRequest, other); got != llm.ErrKindInvalid {
		t.Errorf("an ErrorInfo with another reason is %q, want invalid", got)
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ key, msg, want string }{
		{"", "any key", "any key"},
		{"k", "bad key", "bad key"},
		{"k", "key k.", "key [redacted]."},
		{"AIza-1", "Consumer 'api_key:AIza-1' has been suspended. AIza-1x AIza-1", "Consumer 'api_key:[redacted]' has been suspended. AIza-1x [redacted]"},
		{"a+a", "a+a+a", "[redacted]+a"},
	}
	for _, tc := range cases {
		p := &Provider{apiKey: tc.key}
		if got := p.redact(tc.msg); got != tc.want {
			t.Errorf("redact(%q, key %q) = %q, want %q", tc.msg, tc.key, got, tc.want)
		}
	}
}

func TestSentID(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"call_0": "", "call_12": "", "call_0_1": "",
		"f9x2kq1a": "f9x2kq1a", "call_abc123": "call_abc123", "toolu_01A": "toolu_01A", "call_": "call_",
	}
	for id, want := range cases {
		if got := sentID(id); got != want {
			t.Errorf("sentID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestWirePatchLeavesOtherBodiesAlone(t *testing.T) {
	t.Parallel()
	w := &wirePatch{parameters: []json.RawMessage{json.RawMessage(`{"type":"object"}`)}}
	body := map[string]any{"contents": []any{map[string]any{"role": "model", "parts": []any{map[string]any{"text": "x"}}}}}
	got := w.apply(body)
	if _, ok := got["tools"]; ok || len(got) != 1 {
		t.Errorf("body = %v", got)
	}
}
