package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode"
)

// Wire shapes of the OpenAI Chat Completions API, only as far as needed.
type (
	wireMessage struct {
		Role      string         `json:"role"`
		Content   *string        `json:"content"` // null: tool calls and no text
		ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
	}
	// wireToolCall is a call of a message, or a fragment of one in a delta.
	wireToolCall struct {
		Index    *int         `json:"index,omitempty"` // deltas only
		ID       string       `json:"id,omitempty"`
		Type     string       `json:"type,omitempty"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	wireChoice struct {
		Index        int          `json:"index"`
		Message      *wireMessage `json:"message,omitempty"`
		Delta        *wireDelta   `json:"delta,omitempty"`
		FinishReason *string      `json:"finish_reason"`
		Logprobs     any          `json:"logprobs"`
	}
	wireDelta struct {
		Role      string         `json:"role,omitempty"`
		Content   string         `json:"content,omitempty"`
		ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
	}
	wireUsage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
	wireCompletion struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []wireChoice `json:"choices"`
		Usage   *wireUsage   `json:"usage,omitempty"`
	}
)

func completion(id string, req *ChatRequest, reply *Reply) wireCompletion {
	finish := finishReason(reply)
	msg := &wireMessage{Role: "assistant", Content: &reply.Content}
	calls := toolCalls(req, reply)
	if len(calls) > 0 && reply.Content == "" {
		msg.Content = nil
	}
	for _, tc := range calls {
		msg.ToolCalls = append(msg.ToolCalls, wireToolCall{
			ID: tc.ID, Type: "function", Function: wireFunction{Name: tc.Name, Arguments: tc.Arguments},
		})
	}
	c := wireCompletion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model(req, reply),
		Choices: []wireChoice{{Message: msg, FinishReason: &finish}},
	}
	if !reply.NoUsage {
		c.Usage = usage(reply)
	}
	return c
}

func usage(reply *Reply) *wireUsage {
	u := &wireUsage{
		PromptTokens:     reply.PromptTokens,
		CompletionTokens: reply.CompletionTokens,
		TotalTokens:      reply.PromptTokens + reply.CompletionTokens,
	}
	u.PromptTokensDetails.CachedTokens = reply.CachedTokens
	return u
}

func model(req *ChatRequest, reply *Reply) string {
	if reply.Model != "" {
		return reply.Model
	}
	return req.Model
}

func finishReason(reply *Reply) string {
	switch {
	case reply.FinishReason != "":
		return reply.FinishReason
	case len(reply.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

// toolCalls returns the reply's calls with their IDs filled in.
func toolCalls(req *ChatRequest, reply *Reply) []ToolCall {
	calls := slices.Clone(reply.ToolCalls)
	for i := range calls {
		if calls[i].ID == "" {
			calls[i].ID = "call_" + strconv.Itoa(req.Seq) + "_" + strconv.Itoa(i)
		}
	}
	return calls
}

// writeStream sends the reply as OpenAI does: a role chunk, the content
// chunks, the tool-call chunks, a chunk with the finish reason, a usage
// chunk with no choices when asked for, then [DONE].
func (s *Server) writeStream(w http.ResponseWriter, req *ChatRequest, reply *Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ev := &events{w: w, rc: http.NewResponseController(w), base: wireCompletion{
		ID: s.id(req), Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: model(req, reply),
	}}
	ev.choice(wireDelta{Role: "assistant"}, nil)
	for i, delta := range deltas(req, reply) {
		if reply.Break && i == reply.BreakAfter {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		if i > 0 && !sleep(req.Context(), reply.ChunkDelay) {
			return
		}
		ev.choice(delta, nil)
	}
	if reply.Break {
		panic(http.ErrAbortHandler)
	}
	finish := finishReason(reply)
	ev.choice(wireDelta{}, &finish)
	if req.IncludeUsage() && !reply.NoUsage {
		ev.send(wireCompletion{Choices: []wireChoice{}, Usage: usage(reply)})
	}
	ev.data("[DONE]")
}

// deltas are the stream's deltas between the role and the finish reason:
// the content chunks, then the tool-call chunks.
func deltas(req *ChatRequest, reply *Reply) []wireDelta {
	content := reply.Chunks
	if content == nil {
		content = words(reply.Content)
	}
	var out []wireDelta
	for _, c := range content {
		out = append(out, wireDelta{Content: c})
	}
	var perCall [][]wireDelta
	for i, tc := range toolCalls(req, reply) {
		perCall = append(perCall, toolCallDeltas(i, tc))
	}
	if !reply.InterleaveToolCalls {
		for _, ds := range perCall {
			out = append(out, ds...)
		}
		return out
	}
	for round := 0; ; round++ {
		sent := false
		for _, ds := range perCall {
			if round < len(ds) {
				out = append(out, ds[round])
				sent = true
			}
		}
		if !sent {
			return out
		}
	}
}

// argumentPiece is how many characters of arguments a chunk carries, about
// a token's worth as with OpenAI.
const argumentPiece = 4

// toolCallDeltas are the chunks of call tc at index i: the ID, type and
// name with empty arguments, then the arguments in pieces.
func toolCallDeltas(i int, tc ToolCall) []wireDelta {
	one := func(c wireToolCall) wireDelta {
		index := i
		c.Index = &index
		return wireDelta{ToolCalls: []wireToolCall{c}}
	}
	out := []wireDelta{one(wireToolCall{ID: tc.ID, Type: "function", Function: wireFunction{Name: tc.Name}})}
	args := []rune(tc.Arguments)
	for len(args) > 0 {
		n := min(argumentPiece, len(args))
		out = append(out, one(wireToolCall{Function: wireFunction{Arguments: string(args[:n])}}))
		args = args[n:]
	}
	return out
}

// events writes server-sent events, flushing each one.
type events struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	base wireCompletion
}

func (e *events) choice(delta wireDelta, finish *string) {
	e.send(wireCompletion{Choices: []wireChoice{{Delta: &delta, FinishReason: finish}}})
}

// send writes a chunk carrying the stream's id, object, created and model.
func (e *events) send(c wireCompletion) {
	c.ID, c.Object, c.Created, c.Model = e.base.ID, e.base.Object, e.base.Created, e.base.Model
	data, _ := json.Marshal(c)
	e.data(string(data))
}

func (e *events) data(s string) {
	_, _ = fmt.Fprintf(e.w, "data: %s\n\n", s)
	_ = e.rc.Flush()
}

func writeErrorReply(w http.ResponseWriter, reply *Reply) {
	if reply.RetryAfter != "" {
		w.Header().Set("Retry-After", reply.RetryAfter)
	}
	if reply.ErrorBody != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		_, _ = w.Write([]byte(reply.ErrorBody))
		return
	}
	msg := reply.ErrorMessage
	if msg == "" {
		msg = http.StatusText(reply.Status)
	}
	writeError(w, reply.Status, reply.ErrorType, reply.ErrorCode, msg)
}

// writeError writes an OpenAI error body.
func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	body := struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}{}
	body.Error.Message, body.Error.Type = msg, typ
	if code != "" {
		body.Error.Code = &code
	}
	writeJSON(w, status, body)
}

// words splits s into deltas that concatenate to s: each word with the
// whitespace before it, trailing whitespace going to the last one.
func words(s string) []string {
	var out []string
	start, inWord := 0, false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && inWord {
			out = append(out, s[start:i])
			start = i
		}
		inWord = !space
	}
	switch {
	case start == len(s):
	case inWord || len(out) == 0:
		out = append(out, s[start:])
	default:
		out[len(out)-1] += s[start:]
	}
	return out
}
