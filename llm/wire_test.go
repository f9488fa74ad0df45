package llm_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		header http.Header
		want   int
	}{
		{http.Header{}, 0},
		{nil, 0},
		{http.Header{"Retry-After": {"12"}}, 12},
		{http.Header{"Retry-After": {" 1.2 "}}, 2},
		{http.Header{"Retry-After": {"0"}}, 0},
		{http.Header{"Retry-After": {"-3"}}, 0},
		{http.Header{"Retry-After": {"NaN"}}, 0},
		{http.Header{"Retry-After": {"1e300"}}, 1<<31 - 1},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90},
		{http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{http.Header{"Retry-After": {"soon"}}, 0},
	}
	for _, tc := range cases {
		if got := llm.RetryAfter(tc.header, now); got != tc.want {
			t.Errorf("RetryAfter(%v) = %d, want %d", tc.header, got, tc.want)
		}
	}
}

func TestRetryAfterMs(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]int{"": 0, "1500": 2, "0": 0, "x": 0, "999": 1} {
		if got := llm.RetryAfterMs(http.Header{"Retry-After-Ms": {v}}); got != want {
			t.Errorf("RetryAfterMs(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestRedactKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ msg, key, want string }{
		{"bad key sk-abc123 given", "sk-abc123", "bad key [redacted] given"},
		{"the box of boxes", "x", "the box of boxes"}, // inside words: left alone
		{"key: x.", "x", "key: [redacted]."},
		{"no key here", "", "no key here"},
	} {
		if got := llm.RedactKey(tc.msg, tc.key); got != tc.want {
			t.Errorf("RedactKey(%q, %q) = %q, want %q", tc.msg, tc.key, got, tc.want)
		}
	}
}
