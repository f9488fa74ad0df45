package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode"
)

// Wire shapes of the OpenAI Chat Completions API, only as far as needed.
type (
	wireMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	wireChoice struct {
		Index        int          `json:"index"`
		Message      *wireMessage `json:"message,omitempty"`
		Delta        *wireDelta   `json:"delta,omitempty"`
		FinishReason *string      `json:"finish_reason"`
		Logprobs     any          `json:"logprobs"`
	}
	wireDelta struct {
		Role    string `json:"role,omitempty"`
		Content string `json:"content,omitempty"`
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
	c := wireCompletion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model(req, reply),
		Choices: []wireChoice{{
			Message:      &wireMessage{Role: "assistant", Content: reply.Content},
			FinishReason: &finish,
		}},
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
	if reply.FinishReason != "" {
		return reply.FinishReason
	}
	return "stop"
}

// writeStream sends the reply as OpenAI does: a role chunk, the content
// chunks, a chunk with the finish reason, a usage chunk with no choices
// when asked for, then [DONE].
func (s *Server) writeStream(w http.ResponseWriter, req *ChatRequest, reply *Reply) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ev := &events{w: w, rc: http.NewResponseController(w), base: wireCompletion{
		ID: s.id(req), Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: model(req, reply),
	}}
	ev.choice(wireDelta{Role: "assistant"}, nil)
	for i, chunk := range chunks(reply) {
		if reply.Break && i == reply.BreakAfter {
			panic(http.ErrAbortHandler) // drop the connection mid-stream
		}
		if i > 0 && !sleep(req.Context(), reply.ChunkDelay) {
			return
		}
		ev.choice(wireDelta{Content: chunk}, nil)
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

func chunks(reply *Reply) []string {
	if reply.Chunks != nil {
		return reply.Chunks
	}
	return words(reply.Content)
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
