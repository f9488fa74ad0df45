package llmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ChatRequest is a decoded POST /chat/completions request.
type ChatRequest struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Temperature *float64  `json:"temperature"`
	MaxTokens   *int      `json:"max_tokens"`
	// MaxCompletionTokens is the newer spelling of MaxTokens.
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Stream              bool           `json:"stream"`
	StreamOptions       *StreamOptions `json:"stream_options"`

	// Raw is the request body as sent, for checks the fields above miss.
	Raw    []byte      `json:"-"`
	Header http.Header `json:"-"`
	Path   string      `json:"-"`
	// Seq numbers the server's requests from 1, in arrival order.
	Seq int `json:"-"`

	ctx context.Context
}

// StreamOptions is the request's stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Message is one request message. Content given as an array of parts is
// flattened to the concatenation of its text parts.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// UnmarshalJSON accepts content as a string, an array of parts, or null.
func (m *Message) UnmarshalJSON(data []byte) error {
	var wire struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	m.Role = wire.Role
	return flattenContent(wire.Content, &m.Content)
}

func flattenContent(raw json.RawMessage, out *string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] == '"' {
		return json.Unmarshal(raw, out)
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return fmt.Errorf("content: %w", err)
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	*out = b.String()
	return nil
}

// Context is the request's context: done when the client goes away or the
// server closes.
func (r *ChatRequest) Context() context.Context { return r.ctx }

// IncludeUsage reports whether a stream was asked to end with usage.
func (r *ChatRequest) IncludeUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// LastUserMessage returns the content of the last user message, or "".
func (r *ChatRequest) LastUserMessage() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

func decodeRequest(r *http.Request) (*ChatRequest, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	req := &ChatRequest{Raw: raw, Header: r.Header.Clone(), Path: r.URL.Path, ctx: r.Context()}
	if err := json.Unmarshal(raw, req); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %w", err)
	}
	if req.Model == "" {
		return nil, fmt.Errorf("you must provide a model parameter")
	}
	return req, nil
}

// Reply scripts the answer to one request.
type Reply struct {
	// Content is the answer's text.
	Content string
	// FinishReason defaults to "stop".
	FinishReason string
	// Model is the model the answer names; default the request's.
	Model string

	// Status, when neither 0 nor 200, answers with that HTTP error instead.
	Status int
	// ErrorBody, when set, is the error's whole body, sent as is.
	ErrorBody string
	// ErrorMessage, ErrorType and ErrorCode fill the OpenAI error body
	// {"error":{"message","type","param","code"}}; the message defaults to
	// the status text.
	ErrorMessage, ErrorType, ErrorCode string
	// RetryAfter is sent as the Retry-After header when set.
	RetryAfter string
	// Header holds extra response headers.
	Header http.Header

	// Delay is waited before answering (or failing).
	Delay time.Duration
	// ChunkDelay is waited between streamed content chunks.
	ChunkDelay time.Duration
	// Chunks are the streamed content deltas; default Content split into
	// words (each with the whitespace before it).
	Chunks []string

	// Token usage reported. NoUsage leaves usage out, as servers that ignore
	// stream_options.include_usage do.
	PromptTokens, CompletionTokens, CachedTokens int
	NoUsage                                      bool

	// Break drops the connection instead of finishing: a stream after
	// BreakAfter content chunks, a non-streamed answer before any byte.
	Break      bool
	BreakAfter int
}
