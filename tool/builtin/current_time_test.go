package builtin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/tool/builtin"
)

func TestCurrentTime(t *testing.T) {
	t.Parallel()

	fixed := time.Date(2026, 7, 15, 12, 30, 0, 0, time.UTC) // a Wednesday, summer time in Europe
	tl := builtin.NewCurrentTime(builtin.CurrentTimeConfig{Now: func() time.Time { return fixed }})
	tests := []struct {
		args string
		want []string
	}{
		{`{}`, []string{"time: 2026-07-15T12:30:00Z", "weekday: Wednesday", "timezone: UTC (UTC, UTC+00:00)"}},
		{`{"timezone": "Europe/Lisbon"}`, []string{"time: 2026-07-15T13:30:00+01:00", "weekday: Wednesday", "timezone: Europe/Lisbon (WEST, UTC+01:00)"}},
		{`{"timezone": "Asia/Tokyo"}`, []string{"time: 2026-07-15T21:30:00+09:00", "Asia/Tokyo (JST, UTC+09:00)"}},
		{`{"timezone": "Pacific/Kiritimati"}`, []string{"time: 2026-07-16T02:30:00+14:00", "weekday: Thursday"}},
		{`{"timezone": "America/St_Johns"}`, []string{"time: 2026-07-15T10:00:00-02:30"}},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			t.Parallel()
			wantContains(t, call(t, tl, tt.args).Content, tt.want...)
		})
	}
}

func TestCurrentTimeErrors(t *testing.T) {
	t.Parallel()

	tl := builtin.NewCurrentTime(builtin.CurrentTimeConfig{})
	for args, want := range map[string]string{
		`{"timezone": "Mars/Olympus_Mons"}`: `unknown time zone "Mars/Olympus_Mons": use an IANA name`,
		`{"timezone": "Local"}`:             `unknown time zone "Local"`,
		`{"timezone": "../../etc/passwd"}`:  `unknown time zone`,
		`{"timezone": 1}`:                   "timezone must be a string",
		`{"zone": "UTC"}`:                   `unknown field "zone"`,
	} {
		_, err := callErr(t, tl, args)
		wantError(t, err, want)
	}
}

func TestCurrentTimeDefaultClock(t *testing.T) {
	t.Parallel()

	out := call(t, builtin.NewCurrentTime(builtin.CurrentTimeConfig{}), `{"timezone":"UTC"}`).Content
	line, _, _ := strings.Cut(out, "\n")
	got, err := time.Parse(time.RFC3339, strings.TrimPrefix(line, "time: "))
	if err != nil {
		t.Fatalf("first line %q is not an RFC 3339 time: %v", line, err)
	}
	if got.Year() < 2024 {
		t.Errorf("time %s is not the real clock", got)
	}
}
