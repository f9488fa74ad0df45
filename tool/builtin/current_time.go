package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones must work on machines without /usr/share/zoneinfo

	"github.com/tessera-run/tessera/tool"
)

// CurrentTimeConfig configures the current_time tool.
type CurrentTimeConfig struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// WithDefaults returns c with the clock filled in.
func (c CurrentTimeConfig) WithDefaults() CurrentTimeConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

const currentTimeSchema = `{
  "type": "object",
  "properties": {
    "timezone": {
      "type": "string",
      "description": "An IANA time zone such as \"Europe/Lisbon\" or \"America/New_York\"; defaults to UTC."
    }
  },
  "additionalProperties": false
}`

// NewCurrentTime returns the current_time tool.
func NewCurrentTime(cfg CurrentTimeConfig) tool.Tool {
	now := cfg.WithDefaults().Now
	return tool.Func("current_time",
		"Get the current date and time, optionally in an IANA time zone (default UTC).",
		json.RawMessage(currentTimeSchema),
		func(_ context.Context, args json.RawMessage) (tool.Result, error) {
			return currentTime(now, args)
		})
}

func currentTime(now func() time.Time, args json.RawMessage) (tool.Result, error) {
	var in struct {
		Timezone string `json:"timezone"`
	}
	if err := decodeArgs(args, &in); err != nil {
		return tool.Result{}, err
	}
	loc, err := location(strings.TrimSpace(in.Timezone))
	if err != nil {
		return tool.Result{}, err
	}
	t := now().In(loc)
	abbrev, _ := t.Zone()
	return tool.Result{Content: fmt.Sprintf("time: %s\nweekday: %s\ntimezone: %s (%s, UTC%s)",
		t.Format(time.RFC3339), t.Weekday(), loc, abbrev, t.Format("-07:00"))}, nil
}

// location loads an IANA zone. "Local" is refused: the server's own zone is
// neither what the user means nor the same on every machine.
func location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if !strings.EqualFold(name, "local") {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as \"Europe/Lisbon\", \"America/New_York\" or \"UTC\"", name)
}
