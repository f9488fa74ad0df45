package tessera

import (
	"encoding/json"
	"time"
)

// Event types of the execution event log. Every stream of every surface is
// a view of this log.
const (
	// EventStatus records a non-terminal status change:
	// {"status": "queued"|"running", "attempt": n}.
	EventStatus = "status"
	// EventDelta carries output text as the model produces it: {"text": "…"}.
	EventDelta = "delta"
	// EventIterationStarted and EventIterationFinished bracket a step of the
	// tool loop.
	EventIterationStarted  = "iteration.started"
	EventIterationFinished = "iteration.finished"
	// EventUsage reports the tokens of one model call.
	EventUsage = "usage"
	// EventError reports a problem that did not end the execution (a failed
	// attempt that will be retried, a tool error).
	EventError = "error"
	// EventDone is the terminal event, written with the terminal status in
	// the same transaction. Its data is a DoneData.
	EventDone = "done"
)

// Event is one entry of an execution's log. Seq numbers an execution's
// events from 1 without gaps.
type Event struct {
	ExecutionID int64           `json:"execution_id"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Data        json.RawMessage `json:"data"`
	CreatedAt   time.Time       `json:"created_at"`
}

// EventInput is an event to append; Data is any JSON-encodable value.
type EventInput struct {
	Type string
	Data any
}

// StatusData is the data of an EventStatus event.
type StatusData struct {
	Status  Status `json:"status"`
	Attempt int    `json:"attempt"`
}

// DoneData is the data of the EventDone event.
type DoneData struct {
	Status  Status  `json:"status"`
	Output  string  `json:"output"`
	Error   string  `json:"error"`
	Usage   Usage   `json:"usage"`
	Cost    float64 `json:"cost"`
	Credits float64 `json:"credits"`
}

// DeltaData is the data of an EventDelta event.
type DeltaData struct {
	Text string `json:"text"`
}
