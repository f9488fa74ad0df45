package postgres

import (
	"encoding/json"
	"fmt"
	"time"
)

// Times are written truncated to the microsecond, as timestamptz keeps
// them (and as the SQLite store does): truncation here does not depend on
// how pgx formats a time for the protocol in use, which in text mode would
// let the server round instead.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// utc is a time as the store returns it.
func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// encodeJSON encodes v for a JSON column; empty is stored for a nil v so
// that a missing list or map reads back empty rather than null. The result
// is a string, which pgx sends as JSON text.
func encodeJSON(v any, empty string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode json: %w", err)
	}
	if string(b) == "null" {
		return empty, nil
	}
	return string(b), nil
}

func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode json: %w", err)
	}
	return nil
}

// nullJSON is a caller's raw JSON for a nullable json column: nil when
// empty, else its exact text.
func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw)
}
