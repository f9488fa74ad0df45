package openaicompat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm/llmtest"
)

func TestStream(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.Fake.SetHandler(func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: "one two three four", PromptTokens: 7, CompletionTokens: 4}
	})
	stream := e.agentClient(e.Chat).Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("count"),
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	var usageChunks int
	ids := map[string]bool{}
	for stream.Next() {
		chunk := stream.Current()
		acc.AddChunk(chunk)
		ids[chunk.ID] = true
		if len(chunk.Choices) == 0 && chunk.Usage.TotalTokens > 0 {
			usageChunks++
		}
	}
	must(t, stream.Err())
	if got := acc.Choices[0].Message.Content; got != "one two three four" {
		t.Errorf("content = %q", got)
	}
	if acc.Choices[0].FinishReason != "stop" {
		t.Errorf("finish_reason = %q", acc.Choices[0].FinishReason)
	}
	if usageChunks != 1 || acc.Usage.PromptTokens != 7 || acc.Usage.CompletionTokens != 4 || acc.Usage.TotalTokens != 11 {
		t.Errorf("%d usage chunks, usage %+v", usageChunks, acc.Usage)
	}
	if acc.Model != "openai/"+defaultModel {
		t.Errorf("model = %q, want the model the execution runs on", acc.Model)
	}
	if len(ids) != 1 || !strings.HasPrefix(acc.ID, "chatcmpl-") {
		t.Errorf("chunk ids = %v, want one chatcmpl- id", ids)
	}
}

// The wire form: a role chunk with empty content first, the same id and
// created on every chunk, the usage chunk without choices, then [DONE].
func TestStreamWire(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	res, body := e.post(t, "/v1/chat/completions", e.Token, map[string]any{
		"model": "helper", "messages": []map[string]string{{"role": "user", "content": "a b"}},
		"stream": true, "stream_options": map[string]bool{"include_usage": true},
	})
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content type %q: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	data := sseData(t, body)
	if len(data) < 5 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("events = %q, want role, content, finish, usage, [DONE]", data)
	}
	type chunk struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Choices []struct {
			Delta        map[string]any `json:"delta"`
			FinishReason *string        `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	var chunks []chunk
	for _, d := range data[:len(data)-1] {
		var c chunk
		must(t, json.Unmarshal([]byte(d), &c))
		chunks = append(chunks, c)
	}
	first, last := chunks[0], chunks[len(chunks)-1]
	if role, content := first.Choices[0].Delta["role"], first.Choices[0].Delta["content"]; role != "assistant" || content != "" {
		t.Errorf("first delta = %v, want the assistant role and empty content", first.Choices[0].Delta)
	}
	if len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens == 0 {
		t.Errorf("last chunk = %+v, want usage and no choices", last)
	}
	finish := chunks[len(chunks)-2].Choices[0].FinishReason
	if finish == nil || *finish != "stop" {
		t.Errorf("finish_reason = %v, want stop", finish)
	}
	var text strings.Builder
	for _, c := range chunks {
		if c.ID != first.ID || c.Created != first.Created || c.Object != "chat.completion.chunk" {
			t.Errorf("chunk %+v differs from the first's id %q, created %d", c, first.ID, first.Created)
		}
		if len(c.Choices) > 0 {
			s, _ := c.Choices[0].Delta["content"].(string)
			text.WriteString(s)
		}
	}
	if text.String() != "fake: a b" {
		t.Errorf("content = %q", text.String())
	}
	if "chatcmpl-"+res.Header.Get("X-Tessera-Execution-Id") != first.ID {
		t.Errorf("id %q, execution header %q", first.ID, res.Header.Get("X-Tessera-Execution-Id"))
	}
}

// A client that goes away does not cancel the execution.
func TestStreamDisconnect(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.Fake.Block()
	ctx, cancel := context.WithCancel(context.Background())
	var res *http.Response
	stream := e.agentClient(e.Chat, option.WithResponseInto(&res)).Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("still here"),
	})
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	<-e.Fake.Arrived()
	cancel()
	_ = stream.Close()
	e.Fake.Release()
	ex := e.wait(t, res.Header.Get("X-Tessera-Execution-Id"))
	if ex.Status != tessera.StatusCompleted || ex.Output != "fake: still here" {
		t.Errorf("execution = %s %q, want completed", ex.Status, ex.Output)
	}
}

// An Idempotency-Key replay of a finished streamed request streams the
// same answer again, from the execution's row.
func TestStreamReplay(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	params := openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("again")}
	var contents, ids []string
	for range 2 {
		stream := e.agentClient(e.Chat, option.WithHeader("Idempotency-Key", "s1")).Chat.Completions.NewStreaming(context.Background(), params)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		must(t, stream.Err())
		contents, ids = append(contents, acc.Choices[0].Message.Content), append(ids, acc.ID)
	}
	if contents[0] != "fake: again" || contents[1] != contents[0] || ids[0] != ids[1] {
		t.Errorf("contents %q, ids %q: want the same answer twice", contents, ids)
	}
	if n := len(e.Fake.Requests()); n != 1 {
		t.Errorf("the provider got %d requests, want 1", n)
	}
}

// sseData returns the data of each event of an SSE body.
func sseData(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	must(t, sc.Err())
	return out
}
