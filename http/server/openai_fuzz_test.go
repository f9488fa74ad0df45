package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// FuzzOpenAIChat posts arbitrary chat completion bodies and
// Idempotency-Key headers to the OpenAI-compatible routes: /v1 (the model
// names the agent) and an agent's own base URL, with and without /api. The
// server never answers 5xx; a refusal is OpenAI's {"error": {…}}; an answer
// is a chat completion, or a stream that ends with [DONE]. (FuzzParseChat
// in http/openaicompat fuzzes the decoder alone.) The seed corpus is in
// testdata/fuzz/FuzzOpenAIChat.
func FuzzOpenAIChat(f *testing.F) {
	s := newStack(f)
	for _, seed := range []struct {
		route byte
		key   string
		body  string
	}{
		{0, "", `{"model":"helper","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}]}`},
		{0, "k", `{"model":"topical","messages":[{"role":"user","content":"hi"}],"topic":"x","stream":true,"stream_options":{"include_usage":true}}`},
		{0, "", `{"model":"writer","messages":"hi"}`}, {0, "", `{"model":"  ","messages":"hi"}`},
		{1, "", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"temperature":"0.5","tools":"no-tools"}`},
		{1, "", `{"model":"topical","messages":"hi"}`}, {1, "", `{"model":"echo","messages":"hi","n":2,"tools":[{"type":"function"}]}`},
		{2, "", `{"messages":[{"role":"assistant","content":"a"}],"answers":{"topic":"t"}}`},
		{2, "", `{"messages":[{"role":"user","content":"q"}],"topic":"t","stream":true}`}, {2, "", `[]`}, {2, "", ``},
	} {
		f.Add(seed.route, seed.key, []byte(seed.body))
	}
	routes := []string{
		"/v1/chat/completions",
		"/agents/" + strconv.FormatInt(s.Chat.ID, 10) + "/openai/chat/completions",
		"/api/agents/" + s.Topical.Slug + "/openai/chat/completions",
	}
	f.Fuzz(func(t *testing.T, route byte, key string, body []byte) {
		path := routes[int(route)%len(routes)]
		header := map[string]string{}
		if key != "" {
			header["Idempotency-Key"] = key
		}
		rep := s.do(t, http.MethodPost, path, "", header, body)
		s.check(t, "POST "+path, rep, openAIShape)
		if rep.status != http.StatusOK {
			return
		}
		if rep.header.Get("Content-Type") == "text/event-stream" {
			if !strings.HasSuffix(strings.TrimSpace(string(rep.body)), "data: [DONE]") {
				t.Fatalf("POST %s: a stream without [DONE]: %s", path, clip(rep.body))
			}
			return
		}
		var got struct {
			Object  string `json:"object"`
			Choices []struct {
				Message struct {
					Role    string  `json:"role"`
					Content *string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(rep.body, &got); err != nil || got.Object != "chat.completion" || len(got.Choices) != 1 ||
			got.Choices[0].Message.Role != "assistant" || got.Choices[0].Message.Content == nil {
			t.Fatalf("POST %s: not a chat completion: %s", path, clip(rep.body))
		}
	})
}
