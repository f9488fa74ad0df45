package anthropic

import (
	"net/http"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
)

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		header http.Header
		want   int
	}{
		{http.Header{}, 0},
		{http.Header{"Retry-After": {"12"}}, 12},
		{http.Header{"Retry-After": {" 1.2 "}}, 2},
		{http.Header{"Retry-After": {"0"}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After": {"NaN"}}, 0},
		{http.Header{"Retry-After": {"1e300"}}, 1<<31 - 1},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
		{http.Header{"Retry-After-Ms": {"1500"}}, 2},
		{http.Header{"Retry-After": {"4"}, "Retry-After-Ms": {"1500"}}, 2},
		{http.Header{"Retry-After": {"4"}, "Retry-After-Ms": {"later"}}, 4},
	}
	for _, tc := range cases {
		if got := retryAfterSeconds(tc.header, now); got != tc.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tc.header, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	cases := []struct{ key, msg, want string }{
		{"", "any key", "any key"},
		{"k", "bad key", "bad key"},
		{"k", "key k.", "key [redacted]."},
		{"sk-ant-1", "invalid x-api-key: sk-ant-1. sk-ant-1x sk-ant-1", "invalid x-api-key: [redacted]. sk-ant-1x [redacted]"},
		{"a+a", "a+a+a", "[redacted]+a"},
	}
	for _, tc := range cases {
		p := &Provider{apiKey: tc.key}
		if got := p.redact(tc.msg); got != tc.want {
			t.Errorf("redact(%q, key %q) = %q, want %q", tc.msg, tc.key, got, tc.want)
		}
	}
}

func TestStatusKind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status int
		info   errorInfo
		want   string
	}{
		{400, errorInfo{typ: "invalid_request_error", message: "messages: roles must alternate"}, llm.ErrKindInvalid},
		{400, errorInfo{typ: "invalid_request_error", message: "Your Credit Balance is too low"}, llm.ErrKindQuota},
		{400, errorInfo{typ: "billing_error"}, llm.ErrKindQuota},
		{402, errorInfo{code: "linked_organization_billing_unavailable"}, llm.ErrKindQuota},
		{403, errorInfo{typ: "permission_error"}, llm.ErrKindAuth},
		{408, errorInfo{}, llm.ErrKindUnavailable},
		{409, errorInfo{}, llm.ErrKindUnavailable},
		{422, errorInfo{}, llm.ErrKindInvalid},
		{429, errorInfo{code: "ramp_limit_exceeded"}, llm.ErrKindRateLimited},
		{429, errorInfo{code: "contract_spend_limit_reached"}, llm.ErrKindQuota},
		{529, errorInfo{typ: "overloaded_error"}, llm.ErrKindUnavailable},
	}
	for _, tc := range cases {
		if got := statusKind(tc.status, tc.info); got != tc.want {
			t.Errorf("statusKind(%d, %+v) = %q, want %q", tc.status, tc.info, got, tc.want)
		}
	}
}
