// Package eventenc encodes execution events for the stores: the same JSON,
// the same rules and the same errors whatever the database, so that the
// SQLite and PostgreSQL stores write byte-identical event logs.
package eventenc

import (
	"encoding/json"

	"github.com/tessera-run/tessera"
)

// Event is an event ready to insert.
type Event struct {
	Type string
	Data string
}

// Encode encodes events for insertion. Data is marshalled with
// encoding/json (a json.RawMessage passes through, checked and compacted);
// a value that encodes as null is stored as {}. A missing type or a value
// that does not marshal is EINVALID.
func Encode(events []tessera.EventInput) ([]Event, error) {
	out := make([]Event, len(events))
	for i, ev := range events {
		if ev.Type == "" {
			return nil, tessera.Errorf(tessera.EINVALID, "event %d has no type", i)
		}
		data, err := json.Marshal(ev.Data)
		if err != nil {
			return nil, tessera.Errorf(tessera.EINVALID, "the data of event %d (%s) is not valid JSON: %v", i, ev.Type, err)
		}
		if string(data) == "null" {
			data = []byte("{}")
		}
		out[i] = Event{Type: ev.Type, Data: string(data)}
	}
	return out, nil
}

// EncodeWorker encodes events written by a worker, which may not write the
// events the store writes itself with each status change.
func EncodeWorker(events []tessera.EventInput) ([]Event, error) {
	for i, ev := range events {
		if ev.Type == tessera.EventStatus || ev.Type == tessera.EventDone {
			return nil, tessera.Errorf(tessera.EINVALID,
				"event %d: %q events are written by the store with the status change", i, ev.Type)
		}
	}
	return Encode(events)
}

// Status is the encoded EventStatus of a status change; its data always
// marshals.
func Status(status tessera.Status, attempt int) []Event {
	data, _ := json.Marshal(tessera.StatusData{Status: status, Attempt: attempt})
	return []Event{{Type: tessera.EventStatus, Data: string(data)}}
}

// Done is the encoded EventDone of a terminal state. It is EINVALID when a
// number does not marshal (a NaN or infinite cost).
func Done(d tessera.DoneData) ([]Event, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, tessera.Errorf(tessera.EINVALID, "the terminal state does not encode as JSON: %v", err)
	}
	return []Event{{Type: tessera.EventDone, Data: string(data)}}, nil
}

// DoneOf is the DoneData of a terminal execution's row.
func DoneOf(e *tessera.Execution) tessera.DoneData {
	return tessera.DoneData{Status: e.Status, Output: e.Output, Error: e.Error, Usage: e.Usage, Cost: e.Cost, Credits: e.Credits}
}
