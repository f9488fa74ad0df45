package llm

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Helpers the provider adapters share for what every HTTP API does alike.

// RedactKey replaces key in msg with "[redacted]": a last defence, since
// some servers echo the key they were sent. Only whole tokens are replaced,
// so that a short placeholder key ("x") does not mangle the words that
// contain it.
func RedactKey(msg, key string) string {
	if key == "" {
		return msg
	}
	var b strings.Builder
	done := 0 // msg[:done] is written
	for from := 0; ; {
		i := strings.Index(msg[from:], key)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(key)
		if !keyByte(msg, start-1) && !keyByte(msg, end) {
			b.WriteString(msg[done:start])
			b.WriteString("[redacted]")
			done = end
			from = end
			continue
		}
		from = start + 1
	}
	b.WriteString(msg[done:])
	return b.String()
}

// keyByte reports whether msg[i] exists and may be part of an API key.
func keyByte(msg string, i int) bool {
	if i < 0 || i >= len(msg) {
		return false
	}
	c := msg[i]
	return c == '-' || c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// RetryAfter reads a Retry-After header (delay-seconds or an HTTP date)
// in whole seconds, rounded up so that a caller waiting that long is never
// early; 0 means none or unreadable.
func RetryAfter(h http.Header, now time.Time) int {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return CeilSeconds(n)
	}
	if t, err := http.ParseTime(v); err == nil {
		return CeilSeconds(t.Sub(now).Seconds())
	}
	return 0
}

// RetryAfterMs reads the non-standard Retry-After-Ms header some servers
// send, in whole seconds rounded up; 0 means none.
func RetryAfterMs(h http.Header) int {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return CeilSeconds(n / 1000)
		}
	}
	return 0
}

// CeilSeconds rounds a positive number of seconds up to an int (capped);
// anything else is 0.
func CeilSeconds(s float64) int {
	if math.IsNaN(s) || s <= 0 {
		return 0
	}
	return int(min(math.Ceil(s), math.MaxInt32))
}
