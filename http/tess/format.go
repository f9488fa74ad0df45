package tess

import (
	"time"

	"github.com/tessera-run/tessera"
)

// laravelTime is Tess's timestamp form: "2025-01-05T19:35:21.000000Z".
const laravelTime = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(laravelTime) }

// status maps the internal state machine onto Tess's vocabulary:
// cancelled and timeout are failures with an error.
func status(s tessera.Status) string {
	switch s {
	case tessera.StatusQueued:
		return "starting"
	case tessera.StatusRunning:
		return "running"
	case tessera.StatusCompleted:
		return "succeeded"
	default:
		return "failed"
	}
}

// response is an agent response (an execution) as Tess shows it.
type response struct {
	ID         int64   `json:"id"`
	Status     string  `json:"status"`
	Input      string  `json:"input"`
	Output     string  `json:"output"`
	Credits    float64 `json:"credits"`
	RootID     int64   `json:"root_id"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
	TemplateID int64   `json:"template_id"`
	Error      *string `json:"error"`
}

func toResponse(ex *tessera.Execution) response {
	r := response{
		ID: ex.ID, Status: status(ex.Status), Input: ex.Input, Output: ex.Output, Credits: ex.Credits,
		RootID: ex.RootID, CreatedAt: ts(ex.CreatedAt), UpdatedAt: ts(ex.UpdatedAt), TemplateID: ex.AgentID,
	}
	if ex.Status.Terminal() && ex.Status != tessera.StatusCompleted {
		msg := ex.Error
		if msg == "" {
			msg = "The execution " + string(ex.Status) + "."
		}
		r.Error = &msg
	}
	return r
}
