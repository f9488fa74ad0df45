package llmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
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
	// Tools are the function tools offered; nil when the body has none.
	Tools []Tool `json:"tools"`
	// ToolChoice is the raw tool_choice, nil when absent.
	ToolChoice json.RawMessage `json:"tool_choice"`
	// ParallelToolCalls is parallel_tool_calls, nil when absent.
	ParallelToolCalls *bool `json:"parallel_tool_calls"`
	// ResponseFormat is the raw response_format, nil when absent.
	ResponseFormat json.RawMessage `json:"response_format"`

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
//
// Message stays comparable with ==, which is why the tool calls of an
// assistant message are behind a method: == then compares them by
// identity, so compare messages that carry tool calls with
// reflect.DeepEqual, or their ToolCalls() apart.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCallID names the call a tool message answers.
	ToolCallID string `json:"tool_call_id"`

	toolCalls *[]ToolCall // nil when the message has none
}

// ToolCall is one tool call: of an assistant message in a request, or of
// a scripted Reply.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is the arguments' JSON text, as sent; it may be malformed.
	Arguments string
}

// Tool is one function tool of a request.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema as sent; nil when absent.
	Parameters json.RawMessage
}

// ToolCalls returns the calls an assistant message asked for, nil for
// none. The slice is a copy.
func (m Message) ToolCalls() []ToolCall {
	if m.toolCalls == nil {
		return nil
	}
	return slices.Clone(*m.toolCalls)
}

type wireToolCallIn struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// UnmarshalJSON accepts content as a string, an array of parts, or null.
func (m *Message) UnmarshalJSON(data []byte) error {
	var wire struct {
		Role       string           `json:"role"`
		Content    json.RawMessage  `json:"content"`
		ToolCallID string           `json:"tool_call_id"`
		ToolCalls  []wireToolCallIn `json:"tool_calls"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*m = Message{Role: wire.Role, ToolCallID: wire.ToolCallID}
	if len(wire.ToolCalls) > 0 {
		calls := make([]ToolCall, len(wire.ToolCalls))
		for i, c := range wire.ToolCalls {
			calls[i] = ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments}
		}
		m.toolCalls = &calls
	}
	return flattenContent(wire.Content, &m.Content)
}

// UnmarshalJSON reads {"type":"function","function":{…}}.
func (t *Tool) UnmarshalJSON(data []byte) error {
	var wire struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	if wire.Type != "function" {
		return fmt.Errorf("tool type %q: the fake server knows only function tools", wire.Type)
	}
	*t = Tool{Name: wire.Function.Name, Description: wire.Function.Description, Parameters: wire.Function.Parameters}
	return nil
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

// ToolResult returns the content of the tool message answering callID.
func (r *ChatRequest) ToolResult(callID string) (string, bool) {
	for _, m := range r.Messages {
		if m.Role == "tool" && m.ToolCallID == callID {
			return m.Content, true
		}
	}
	return "", false
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
	if err := validateTools(req); err != nil {
		return nil, err
	}
	return req, nil
}

// validateTools refuses what OpenAI refuses about tools, in its words, so
// that a client's mistakes show up against the fake too: an empty tools
// array, a tool or call without a name or an ID, and a history where tool
// messages do not answer, each and exactly, the calls of the assistant
// message just before them.
func validateTools(req *ChatRequest) error {
	if req.Tools != nil && len(req.Tools) == 0 {
		return apiError("Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	for i, t := range req.Tools {
		if t.Name == "" {
			return apiErrorf("Missing required parameter: 'tools[%d].function.name'.", i)
		}
	}
	var pending []string // calls of the last assistant message not yet answered
	unanswered := func() error {
		return apiErrorf("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. "+
			"The following tool_call_ids did not have response messages: %s", strings.Join(pending, ", "))
	}
	for i, m := range req.Messages {
		if m.Role == "tool" {
			if m.ToolCallID == "" {
				return apiErrorf("Missing required parameter: 'messages[%d].tool_call_id'.", i)
			}
			j := slices.Index(pending, m.ToolCallID)
			if j < 0 {
				return apiError("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.")
			}
			pending = slices.Delete(pending, j, j+1)
			continue
		}
		if len(pending) > 0 {
			return unanswered()
		}
		for j, c := range m.ToolCalls() {
			if c.ID == "" {
				return apiErrorf("Missing required parameter: 'messages[%d].tool_calls[%d].id'.", i, j)
			}
			if c.Name == "" {
				return apiErrorf("Missing required parameter: 'messages[%d].tool_calls[%d].function.name'.", i, j)
			}
			pending = append(pending, c.ID)
		}
	}
	if len(pending) > 0 {
		return unanswered()
	}
	return nil
}

// apiError is an error worded as OpenAI words it (capitalised, with a full
// stop): the fake sends it to clients verbatim.
type apiError string

func (e apiError) Error() string { return string(e) }

func apiErrorf(format string, args ...any) error { return apiError(fmt.Sprintf(format, args...)) }

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

	// ToolCalls are the calls the answer asks for, after its Content, if
	// any: message.tool_calls, or in a stream chunks of delta.tool_calls
	// as OpenAI sends them, each carrying its call's index, the first the
	// ID, type and name with empty arguments, the next ones the arguments
	// in pieces of a few characters. An empty ID is filled in as
	// call_<seq>_<n> (seq the request's Seq, n the call's position).
	// FinishReason then defaults to "tool_calls", and content with no text
	// is sent as null.
	ToolCalls []ToolCall
	// InterleaveToolCalls streams the chunks of the calls in turn (the
	// first chunk of each call, then the second of each, …) rather than
	// one call after the other.
	InterleaveToolCalls bool

	// Delay is waited before answering (or failing).
	Delay time.Duration
	// ChunkDelay is waited between streamed chunks, content and tool-call
	// chunks alike.
	ChunkDelay time.Duration
	// Chunks are the streamed content deltas; default Content split into
	// words (each with the whitespace before it).
	Chunks []string

	// Token usage reported. NoUsage leaves usage out, as servers that ignore
	// stream_options.include_usage do.
	PromptTokens, CompletionTokens, CachedTokens int
	NoUsage                                      bool

	// Break drops the connection instead of finishing: a stream after
	// BreakAfter chunks (content chunks, then tool-call chunks), a
	// non-streamed answer before any byte.
	Break      bool
	BreakAfter int
}
