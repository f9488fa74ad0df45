package llmtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// chat returns the official SDK's chat service pointed at srv.
func chat(srv *llmtest.Server, path string) *sdk.ChatCompletionService {
	svc := sdk.NewChatCompletionService(
		option.WithEnvironmentProduction(),
		option.WithBaseURL(srv.URL+path),
		option.WithAPIKey("test-key"),
		option.WithMaxRetries(0),
		option.WithHTTPClient(srv.Client()),
	)
	return &svc
}

func params(content string) sdk.ChatCompletionNewParams {
	return sdk.ChatCompletionNewParams{
		Model:    "model-a",
		Messages: []sdk.ChatCompletionMessageParamUnion{sdk.SystemMessage("sys words"), sdk.UserMessage(content)},
	}
}

func replying(r llmtest.Reply) llmtest.Handler {
	return func(*llmtest.ChatRequest) llmtest.Reply { return r }
}

func TestDefaultHandler(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	for _, path := range []string{"", "/v1"} {
		svc := chat(srv, path)
		cc, err := svc.New(context.Background(), params("hello there"))
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		if len(cc.Choices) != 1 || cc.Choices[0].Message.Content != "fake: hello there" || cc.Choices[0].FinishReason != "stop" {
			t.Errorf("choices = %+v", cc.Choices)
		}
		if cc.Model != "model-a" || cc.Object != "chat.completion" || cc.ID == "" {
			t.Errorf("completion = %+v", cc)
		}
		// 2 + 2 prompt words; "fake:", "hello", "there".
		if u := cc.Usage; u.PromptTokens != 4 || u.CompletionTokens != 3 || u.TotalTokens != 7 {
			t.Errorf("usage = %+v", u)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/chat/completions" || reqs[1].Path != "/v1/chat/completions" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestStreamParsesWithSDK(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Chunks: []string{"one", " two", " three"}, FinishReason: "length", Model: "served",
		PromptTokens: 9, CompletionTokens: 3, CachedTokens: 4,
	})})
	svc := chat(srv, "/v1")
	p := params("x")
	p.StreamOptions.IncludeUsage = param.NewOpt(true)
	s := svc.NewStreaming(context.Background(), p)
	defer s.Close()
	var acc sdk.ChatCompletionAccumulator
	var deltas []string
	usageChunks := 0
	for s.Next() {
		chunk := s.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("the accumulator refused %s", chunk.RawJSON())
		}
		if chunk.Object != "chat.completion.chunk" {
			t.Errorf("object = %q", chunk.Object)
		}
		if chunk.JSON.Usage.Valid() {
			usageChunks++
			if len(chunk.Choices) != 0 {
				t.Errorf("the usage chunk has choices")
			}
		}
		for _, c := range chunk.Choices {
			if c.Delta.Content != "" {
				deltas = append(deltas, c.Delta.Content)
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(deltas, "|") != "one| two| three" {
		t.Errorf("deltas = %q", deltas)
	}
	c := acc.Choices[0]
	if c.Message.Content != "one two three" || c.FinishReason != "length" || c.Message.Role != "assistant" || acc.Model != "served" {
		t.Errorf("accumulated = %+v", acc.ChatCompletion)
	}
	if u := acc.Usage; usageChunks != 1 || u.PromptTokens != 9 || u.CompletionTokens != 3 || u.PromptTokensDetails.CachedTokens != 4 {
		t.Errorf("%d usage chunks, usage = %+v", usageChunks, u)
	}
}

// sse posts body and returns the data of each event.
func sse(t *testing.T, srv *llmtest.Server, body string) []string {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			d, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Errorf("line %q is not an SSE data line", line)
			}
			data = append(data, d)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestStreamWireFormat(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	data := sse(t, srv, `{"model":"m","stream":true,"messages":[{"role":"user","content":"a b"}]}`)
	if len(data) == 0 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("events = %q, want [DONE] last", data)
	}
	for _, d := range data[:len(data)-1] {
		var chunk map[string]any
		if err := json.Unmarshal([]byte(d), &chunk); err != nil {
			t.Fatalf("event %q: %v", d, err)
		}
		if _, ok := chunk["usage"]; ok {
			t.Errorf("usage sent without stream_options.include_usage: %s", d)
		}
	}
	// role, "fake:", " a", " b", finish, [DONE]
	if len(data) != 6 {
		t.Errorf("events = %q", data)
	}
}

func TestRecordsRequests(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	body := `{"model":"m","temperature":0.5,"max_tokens":9,"stream":true,"stream_options":{"include_usage":true},
"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}]}`
	sse(t, srv, body)
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Model != "m" || *r.Temperature != 0.5 || *r.MaxTokens != 9 || r.MaxCompletionTokens != nil || !r.Stream || !r.IncludeUsage() {
		t.Errorf("request = %+v", r)
	}
	if len(r.Messages) != 2 || r.Messages[1] != (llmtest.Message{Role: "user", Content: "ab"}) || r.LastUserMessage() != "ab" {
		t.Errorf("messages = %+v", r.Messages)
	}
	if string(r.Raw) != body || r.Seq != 1 || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("raw = %q, seq = %d, header = %v", r.Raw, r.Seq, r.Header)
	}
}

func TestErrorReply(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Status: 429, ErrorMessage: "slow down", ErrorType: "requests", ErrorCode: "rate_limit_exceeded",
		RetryAfter: "3", Header: http.Header{"X-Extra": {"1"}},
	})})
	_, err := chat(srv, "").New(context.Background(), params("x"))
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v", err)
	}
	if apiErr.StatusCode != 429 || apiErr.Message != "slow down" || apiErr.Code != "rate_limit_exceeded" || apiErr.Type != "requests" {
		t.Errorf("error = %+v", apiErr)
	}
	if h := apiErr.Response.Header; h.Get("Retry-After") != "3" || h.Get("X-Extra") != "1" {
		t.Errorf("headers = %v", h)
	}
}

func TestErrorBodyAndBadRequests(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Status: 502, ErrorBody: "not json"})})
	cases := []struct {
		method, path, body string
		status             int
		contains           string
	}{
		{"POST", "/chat/completions", `{"model":"m"}`, 502, "not json"},
		{"POST", "/chat/completions", `{`, 400, `"error"`},
		{"POST", "/chat/completions", `{"messages":[]}`, 400, "model"},
		{"GET", "/nowhere", "", 404, "unknown URL"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(data), tc.contains) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, data)
		}
	}
}

func TestModels(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Models: []string{"a", "b"}})
	for _, path := range []string{"/models", "/v1/models"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Object string
			Data   []struct{ ID, Object string }
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || list.Object != "list" || len(list.Data) != 2 || list.Data[1].ID != "b" || list.Data[1].Object != "model" {
			t.Errorf("%s: %+v, %v", path, list, err)
		}
	}
}

func TestBlockAndRelease(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	srv.Block()
	svc := chat(srv, "")
	var wg sync.WaitGroup
	done := make(chan string, 3)
	for range 3 {
		wg.Go(func() {
			cc, err := svc.New(context.Background(), params("x"))
			if err != nil {
				t.Error(err)
				return
			}
			done <- cc.Choices[0].Message.Content
		})
	}
	for range 3 {
		<-srv.Arrived()
	}
	if n := srv.InFlight(); n != 3 {
		t.Errorf("InFlight = %d, want 3", n)
	}
	if len(done) != 0 {
		t.Fatal("a blocked request was answered")
	}
	srv.Release()
	wg.Wait()
	if len(done) != 3 || srv.InFlight() != 0 || srv.MaxInFlight() != 3 {
		t.Errorf("answered %d, in flight %d, max %d", len(done), srv.InFlight(), srv.MaxInFlight())
	}
}

func TestDisconnectEndsHeldRequests(t *testing.T) {
	t.Parallel()
	cases := map[string]func(*llmtest.Server){
		"blocked": func(s *llmtest.Server) { s.Block() },
		"delayed": func(s *llmtest.Server) { s.SetHandler(replying(llmtest.Reply{Delay: time.Hour})) },
		"between chunks": func(s *llmtest.Server) {
			s.SetHandler(replying(llmtest.Reply{Chunks: []string{"a", "b"}, ChunkDelay: time.Hour}))
		},
	}
	for name, hold := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewTest(t, llmtest.Config{})
			hold(srv)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				s := chat(srv, "").NewStreaming(ctx, params("x"))
				for s.Next() {
				}
				errc <- s.Err()
			}()
			req := <-srv.Arrived()
			cancel()
			<-req.Context().Done()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("client err = %v", err)
			}
		})
	}
}

func TestBreak(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Chunks: []string{"a", "b"}, Break: true, BreakAfter: 1})})
	s := chat(srv, "").NewStreaming(context.Background(), params("x"))
	var content strings.Builder
	for s.Next() {
		for _, c := range s.Current().Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	if s.Err() == nil || content.String() != "a" {
		t.Errorf("err = %v after %q, want a broken stream after %q", s.Err(), content.String(), "a")
	}
	_, err := chat(srv, "").New(context.Background(), params("x"))
	if err == nil {
		t.Error("a broken non-streamed answer succeeded")
	}
}

func TestNewWithoutTest(t *testing.T) {
	t.Parallel()
	srv := llmtest.New(llmtest.Config{})
	if _, err := chat(srv, "").New(context.Background(), params("x")); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // idempotent
	if _, err := chat(srv, "").New(context.Background(), params("x")); err == nil {
		t.Error("a closed server answered")
	}
}
