package openai

import (
	"net/http"
	"testing"
	"time"
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
		{http.Header{"Retry-After": {"4"}, "Retry-After-Ms": {"1500"}}, 4},
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
		{"sk-1", "Incorrect API key provided: sk-1. sk-1x sk-1", "Incorrect API key provided: [redacted]. sk-1x [redacted]"},
		{"a+a", "a+a+a", "[redacted]+a"},
	}
	for _, tc := range cases {
		p := &Provider{apiKey: tc.key}
		if got := p.redact(tc.msg); got != tc.want {
			t.Errorf("redact(%q, key %q) = %q, want %q", tc.msg, tc.key, got, tc.want)
		}
	}
}
