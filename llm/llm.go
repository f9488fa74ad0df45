// Package llm is the provider-neutral interface to language models: a
// request of messages, a streamed or whole response with token usage, and
// the registry that resolves a model name (an alias such as tess-5, a
// provider/name pair or a bare name) to a provider, a model and its price.
//
// Each provider lives in its own subpackage (llm/openai, llm/echo, …) so
// that heavy SDKs are linked only where they are used.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Roles of a Message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	// RoleTool carries a tool's result back to the model.
	RoleTool = "tool"
)

// Message is one message sent to a model. Instructions travel as a system
// message; each provider maps it to its own wire form.
type Message struct {
	Role    string
	Content string
	// ToolCalls are the calls an assistant message asked for.
	ToolCalls []ToolCall
	// ToolCallID names the call a tool message answers.
	ToolCallID string
	// Images go with a user message to a model with vision.
	Images []Image
}

// Image is an image part of a user message: its bytes, or a URL the
// provider fetches itself.
type Image struct {
	MIMEType string
	Data     []byte
	URL      string
}

// ToolDef declares a tool the model may call.
type ToolDef struct {
	Name        string
	Description string
	// Parameters is the JSON Schema (type object) of the arguments.
	Parameters json.RawMessage
}

// ToolCall is one call the model asked for.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the JSON text the model wrote; it may be malformed.
	Arguments string
}

// Request is one model call.
type Request struct {
	// Model is the provider's own model name (already resolved).
	Model    string
	Messages []Message
	// Temperature is nil for the provider's default.
	Temperature *float64
	// MaxTokens caps the output; 0 means the provider's default.
	MaxTokens int
	// Tools the model may call; none means a plain completion.
	Tools []ToolDef
	// OutputSchema, when set, asks the provider for a final answer that is
	// a JSON object satisfying this JSON Schema (structured output). Set it
	// only for models whose table entry says they support it.
	OutputSchema json.RawMessage
}

// Usage is the token usage a provider reported for one call.
type Usage struct {
	InputTokens  int64
	OutputTokens int64
	// CachedInputTokens are the part of InputTokens read from the
	// provider's prompt cache.
	CachedInputTokens int64
	// ReasoningTokens are the part of OutputTokens spent thinking, where
	// the provider reports them.
	ReasoningTokens int64
}

// Response is a finished model call.
type Response struct {
	Content string
	// ToolCalls are the calls the model asked for (FinishReason
	// "tool_calls"); the caller runs them and calls again.
	ToolCalls    []ToolCall
	FinishReason string
	Usage        Usage
	// Model is the model the provider says answered.
	Model string
	// Attempts are the calls that failed before this one succeeded (see
	// WithRetry).
	Attempts []Attempt
	// Resolved is the model that answered when it was a fallback (see
	// WithFallbacks); nil means the model called.
	Resolved *Resolved
}

// StreamFunc receives text deltas as the provider produces them. Returning
// an error aborts the call with that error.
type StreamFunc func(delta string) error

// Provider is one LLM API. Implementations must be safe for concurrent use
// and honour ctx cancellation in the underlying HTTP call.
type Provider interface {
	// Name is the provider's name in model specs ("openai", "echo").
	Name() string
	// Generate runs the request. When stream is non-nil the provider streams
	// and calls it with each text delta; the Response holds the whole text.
	// Errors are *Error values when the provider answered with an error.
	Generate(ctx context.Context, req *Request, stream StreamFunc) (*Response, error)
}

// Error is an error answered by a provider, classified so that callers can
// decide to retry, wait or fail.
type Error struct {
	Provider string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Kind is one of the Err* kinds below.
	Kind    string
	Message string
	// RetryAfterSeconds is the provider's Retry-After, when it sent one.
	RetryAfterSeconds int
	Err               error
}

// Provider error kinds.
const (
	ErrKindAuth        = "auth"         // bad or missing credentials: fail at once
	ErrKindInvalid     = "invalid"      // the provider rejected the request: fail at once
	ErrKindRateLimited = "rate_limited" // 429: wait Retry-After, then retry
	ErrKindUnavailable = "unavailable"  // 5xx, reset, timeout: retry with backoff
	ErrKindQuota       = "quota"        // out of credit at the provider: fail at once
	ErrKindNotFound    = "not_found"    // unknown model: fail at once
	ErrKindCancelled   = "cancelled"    // the caller's context ended
)

func (e *Error) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: %s (HTTP %d): %s", e.Provider, e.Kind, e.StatusCode, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Provider, e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether retrying the same call may succeed.
func (e *Error) Retryable() bool {
	return e.Kind == ErrKindRateLimited || e.Kind == ErrKindUnavailable
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
