package client

import (
	"context"
	"net/http"
	"time"
)

// Statuses of a Response (Tess's vocabulary: cancelled and timed-out
// executions are failed, with an error).
const (
	ResponseStarting  = "starting"
	ResponseRunning   = "running"
	ResponseSucceeded = "succeeded"
	ResponseFailed    = "failed"
)

// ExecuteRequest is one run of an agent.
type ExecuteRequest struct {
	// Inputs answer the agent's questions; values are any JSON value
	// (numbers and booleans may also be strings).
	Inputs map[string]any
	// Message is the user's message of a chat agent; Messages, when set,
	// is the whole turn instead (an optional developer message, then user
	// and assistant alternating, ending with the user's).
	Message  string
	Messages []Message
	// Model, Tools and Temperature override the agent's for this run.
	// Tools is "no-tools", "agent", "internet", a site name or built-in
	// tool names separated by commas.
	Model       string
	Tools       string
	Temperature *float64
	// RootID continues the thread of that execution.
	RootID int64
	// FileIDs are files the run may read.
	FileIDs []int64
	// Timeout, when shorter than the agent's, ends the run as failed.
	Timeout time.Duration
	// MultitaskStrategy is enqueue, reject or interrupt: what this run does
	// when its thread is busy.
	MultitaskStrategy string
	// IdempotencyKey makes a retried submission return the same execution.
	IdempotencyKey string
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Response is an execution as the Tess-compatible API shows it.
type Response struct {
	ID int64 `json:"id"`
	// Status is starting, running, succeeded or failed.
	Status  string  `json:"status"`
	Input   string  `json:"input"`
	Output  string  `json:"output"`
	Credits float64 `json:"credits"`
	RootID  int64   `json:"root_id"`
	AgentID int64   `json:"template_id"`
	// Error says why a failed execution failed.
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Done reports whether the execution has ended.
func (r *Response) Done() bool { return r.Status == ResponseSucceeded || r.Status == ResponseFailed }

// body renders the request as Tess's execute body. Inputs travel in the
// legacy "answers" object so that an input named like a reserved field
// (model, tools…) stays an input.
func (r *ExecuteRequest) body(wait bool) map[string]any {
	b := map[string]any{"waitExecution": wait}
	if len(r.Inputs) > 0 {
		b["answers"] = r.Inputs
	}
	switch {
	case len(r.Messages) > 0:
		b["messages"] = r.Messages
	case r.Message != "":
		b["messages"] = r.Message
	}
	set := func(k, v string) {
		if v != "" {
			b[k] = v
		}
	}
	set("model", r.Model)
	set("tools", r.Tools)
	set("multitask_strategy", r.MultitaskStrategy)
	if r.Temperature != nil {
		b["temperature"] = *r.Temperature
	}
	if r.RootID > 0 {
		b["root_id"] = r.RootID
	}
	if len(r.FileIDs) > 0 {
		b["file_ids"] = r.FileIDs
	}
	if r.Timeout > 0 {
		b["timeout"] = r.Timeout.Seconds()
	}
	return b
}

func (c *Client) submit(ctx context.Context, agentID int64, req *ExecuteRequest, wait bool) (*Response, error) {
	if req == nil {
		req = &ExecuteRequest{}
	}
	r := &request{method: http.MethodPost, path: pathf("/api/agents/%d/execute", agentID), body: req.body(wait)}
	if req.IdempotencyKey != "" {
		r.header = http.Header{"Idempotency-Key": {req.IdempotencyKey}}
	}
	var out struct {
		Responses []*Response `json:"responses"`
	}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if len(out.Responses) == 0 {
		return nil, &Error{Status: http.StatusBadGateway, Message: "The execute answer holds no response."}
	}
	return out.Responses[0], nil
}

// Execute runs agent agentID and waits until the execution ends: the
// server waits up to its limit (100 s by default), then Execute follows
// the execution's events until it is done. A failed execution is a
// Response with Status "failed" and its Error, not an error; errors are
// the server's refusals (*Error: 404 agent, 422 invalid inputs, 409 busy
// thread…) and transport failures.
func (c *Client) Execute(ctx context.Context, agentID int64, req *ExecuteRequest) (*Response, error) {
	res, err := c.submit(ctx, agentID, req, true)
	if err != nil || res.Done() {
		return res, err
	}
	return c.Wait(ctx, res.ID)
}

// ExecuteAsync submits a run of agent agentID and returns the execution's
// id at once, to follow with Events or Wait.
func (c *Client) ExecuteAsync(ctx context.Context, agentID int64, req *ExecuteRequest) (int64, error) {
	res, err := c.submit(ctx, agentID, req, false)
	if err != nil {
		return 0, err
	}
	return res.ID, nil
}

// Response returns execution id in the Tess shape.
func (c *Client) Response(ctx context.Context, id int64) (*Response, error) {
	var r Response
	if err := c.do(ctx, &request{method: http.MethodGet, path: pathf("/api/agent-responses/%d", id)}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Wait follows execution id's events until it ends and returns it.
func (c *Client) Wait(ctx context.Context, id int64) (*Response, error) {
	for _, err := range c.Events(ctx, id, nil) {
		if err != nil {
			return nil, err
		}
	}
	return c.Response(ctx, id)
}
