package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/llmtest"
	"github.com/tessera-run/tessera/llm/openai"
)

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		reply      llmtest.Reply
		kind       string
		message    string
		retryAfter int
	}{
		{"401", llmtest.Reply{Status: 401, ErrorMessage: "bad key", ErrorType: "invalid_request_error", ErrorCode: "invalid_api_key"}, llm.ErrKindAuth, "bad key", 0},
		{"403", llmtest.Reply{Status: 403}, llm.ErrKindAuth, "Forbidden", 0},
		{"404", llmtest.Reply{Status: 404, ErrorMessage: "The model `m` does not exist", ErrorCode: "model_not_found"}, llm.ErrKindNotFound, "The model `m` does not exist", 0},
		{"400", llmtest.Reply{Status: 400, ErrorMessage: "messages is too long"}, llm.ErrKindInvalid, "messages is too long", 0},
		{"422", llmtest.Reply{Status: 422, ErrorMessage: "unprocessable"}, llm.ErrKindInvalid, "unprocessable", 0},
		{"429", llmtest.Reply{Status: 429, ErrorMessage: "slow down", ErrorType: "requests", ErrorCode: "rate_limit_exceeded", RetryAfter: "7"}, llm.ErrKindRateLimited, "slow down", 7},
		{"429 quota code", llmtest.Reply{Status: 429, ErrorMessage: "You exceeded your current quota", ErrorType: "insufficient_quota", ErrorCode: "insufficient_quota"}, llm.ErrKindQuota, "You exceeded your current quota", 0},
		{"429 quota type", llmtest.Reply{Status: 429, ErrorMessage: "no credit", ErrorType: "insufficient_quota"}, llm.ErrKindQuota, "no credit", 0},
		{"402", llmtest.Reply{Status: 402, ErrorMessage: "add credits"}, llm.ErrKindQuota, "add credits", 0},
		{"408", llmtest.Reply{Status: 408}, llm.ErrKindUnavailable, "Request Timeout", 0},
		{"409", llmtest.Reply{Status: 409}, llm.ErrKindUnavailable, "Conflict", 0},
		{"500", llmtest.Reply{Status: 500, ErrorMessage: "The server had an error", ErrorType: "server_error"}, llm.ErrKindUnavailable, "The server had an error", 0},
		{"503", llmtest.Reply{Status: 503, ErrorMessage: "overloaded", RetryAfter: "2.5"}, llm.ErrKindUnavailable, "overloaded", 3},
	}
	for _, tc := range cases {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, streaming), func(t *testing.T) {
				t.Parallel()
				srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(tc.reply)})
				p := newProvider(t, openai.Config{Name: "acme", BaseURL: srv.URL, APIKey: "k"})
				_, _, err := generate(context.Background(), p, userRequest("hi"), streaming)
				e := wantKind(t, err, tc.kind)
				if e.Provider != "acme" || e.StatusCode != tc.reply.Status || e.Message != tc.message || e.RetryAfterSeconds != tc.retryAfter {
					t.Errorf("error = %+v, want status %d, message %q, retry after %d", e, tc.reply.Status, tc.message, tc.retryAfter)
				}
				if e.Err == nil {
					t.Error("no cause")
				}
				if n := len(srv.Requests()); n != 1 {
					t.Errorf("server got %d requests, want 1: the SDK must not retry", n)
				}
			})
		}
	}
}

func TestErrorBodyShapes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, contentType, body string
		status                  int
		kind, message           string
	}{
		{"plain text", "text/plain", "upstream exploded\n", 502, llm.ErrKindUnavailable, "upstream exploded"},
		{"error string", "application/json", `{"error":"model 'x' not found"}`, 404, llm.ErrKindNotFound, "model 'x' not found"},
		{"detail", "application/json", `{"detail":"Not Found"}`, 404, llm.ErrKindNotFound, "Not Found"},
		{"numeric code", "application/json", `{"error":{"code":400,"message":"context too long","type":"invalid_request_error"}}`, 400, llm.ErrKindInvalid, "context too long"},
		{"empty", "", "", 500, llm.ErrKindUnavailable, "Internal Server Error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			p := newProvider(t, openai.Config{BaseURL: srv.URL})
			_, err := p.Generate(context.Background(), userRequest("x"), nil)
			e := wantKind(t, err, tc.kind)
			if e.StatusCode != tc.status || e.Message != tc.message {
				t.Errorf("error = %+v, want status %d and message %q", e, tc.status, tc.message)
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	t.Parallel()
	at := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Status: 429, RetryAfter: at})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Generate(context.Background(), userRequest("x"), nil)
	e := wantKind(t, err, llm.ErrKindRateLimited)
	if e.RetryAfterSeconds < 28 || e.RetryAfterSeconds > 31 {
		t.Errorf("RetryAfterSeconds = %d, want about 30", e.RetryAfterSeconds)
	}
	if !e.Retryable() {
		t.Error("429 is not retryable")
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	t.Parallel()
	const key = "sk-secret-4242"
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Status: 401, ErrorMessage: "Incorrect API key provided: " + key,
	})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL, APIKey: key})
	_, err := p.Generate(context.Background(), userRequest("x"), nil)
	e := wantKind(t, err, llm.ErrKindAuth)
	for _, s := range []string{err.Error(), e.Message, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e), fmt.Sprint(e.Err)} {
		if strings.Contains(s, key) {
			t.Errorf("the key leaks into %q", s)
		}
	}
	if !strings.Contains(e.Message, "[redacted]") {
		t.Errorf("message = %q", e.Message)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(http.ResponseWriter, *http.Request) {})
	url := srv.URL
	srv.Close()
	p := newProvider(t, openai.Config{BaseURL: url})
	for _, streaming := range []bool{false, true} {
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindUnavailable)
		if e.StatusCode != 0 || !e.Retryable() {
			t.Errorf("error = %+v", e)
		}
	}
}

func TestMidStreamBreak(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Chunks: []string{"a", "b", "c", "d"}, Break: true, BreakAfter: 2,
	})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindUnavailable)
	if strings.Join(deltas, "") != "ab" {
		t.Errorf("deltas = %q, want the two sent before the break", deltas)
	}
}

func TestNonStreamBreak(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Break: true})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Generate(context.Background(), userRequest("x"), nil)
	wantKind(t, err, llm.ErrKindUnavailable)
}

func TestStreamEndsEarly(t *testing.T) {
	t.Parallel()
	// A clean end of body with neither finish_reason nor [DONE].
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, `{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}`)
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, _, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindUnavailable)
}

func TestStreamErrorEvent(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w,
			`{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`,
			`{"error":{"message":"model overloaded","type":"server_error"}}`)
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, _, err := generate(context.Background(), p, userRequest("x"), true)
	e := wantKind(t, err, llm.ErrKindUnavailable)
	if !strings.Contains(e.Message, "model overloaded") {
		t.Errorf("message = %q", e.Message)
	}
}

// TestCallerCancelReachesServer checks that cancelling the caller's context
// ends the server's request, and that the error says cancelled.
func TestCallerCancelReachesServer(t *testing.T) {
	t.Parallel()
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streaming), func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewTest(t, llmtest.Config{})
			srv.Block()
			p := newProvider(t, openai.Config{BaseURL: srv.URL})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, _, err := generate(ctx, p, userRequest("x"), streaming)
				errc <- err
			}()
			req := <-srv.Arrived()
			cancel()
			<-req.Context().Done() // the server sees the client go away
			err := <-errc
			wantKind(t, err, llm.ErrKindCancelled)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled inside", err)
			}
		})
	}
}

func TestCancelMidStream(t *testing.T) {
	t.Parallel()
	// The second chunk waits for longer than any test runs.
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Chunks: []string{"a", "b"}, ChunkDelay: time.Hour,
	})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var deltas []string
	_, err := p.Generate(ctx, userRequest("x"), func(d string) error {
		deltas = append(deltas, d)
		cancel() // the caller gives up while the server streams
		return nil
	})
	wantKind(t, err, llm.ErrKindCancelled)
	if len(deltas) != 1 {
		t.Errorf("deltas = %q, want the first only", deltas)
	}
	<-srv.Requests()[0].Context().Done() // the server sees the client go away
}

func TestCallerDeadlineIsCancelled(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	srv.Block()
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Generate(ctx, userRequest("x"), nil)
	wantKind(t, err, llm.ErrKindCancelled)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded inside", err)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	srv.Block()
	p := newProvider(t, openai.Config{BaseURL: srv.URL, Timeout: 20 * time.Millisecond})
	for _, streaming := range []bool{false, true} {
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindUnavailable)
		if !e.Retryable() || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %+v", e)
		}
	}
}
