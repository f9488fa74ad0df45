package anthropic_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
)

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		body       string
		header     http.Header
		kind       string
		message    string
		retryAfter int
	}{
		{"400", 400, apiError("invalid_request_error", "max_tokens: Field required"), nil, llm.ErrKindInvalid, "max_tokens: Field required", 0},
		{"400 credit", 400, apiError("invalid_request_error", "Your credit balance is too low to access the Anthropic API."), nil, llm.ErrKindQuota, "Your credit balance is too low to access the Anthropic API.", 0},
		{"401", 401, apiError("authentication_error", "invalid x-api-key"), nil, llm.ErrKindAuth, "invalid x-api-key", 0},
		{"402", 402, apiError("billing_error", "Payment required"), nil, llm.ErrKindQuota, "Payment required", 0},
		{"403", 403, apiError("permission_error", "no access to this model"), nil, llm.ErrKindAuth, "no access to this model", 0},
		{"404", 404, apiError("not_found_error", "model: claude-x"), nil, llm.ErrKindNotFound, "model: claude-x", 0},
		{"413", 413, apiError("request_too_large", "Request exceeds the maximum allowed number of bytes."), nil, llm.ErrKindInvalid, "Request exceeds the maximum allowed number of bytes.", 0},
		{"429", 429, apiError("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
			http.Header{"Retry-After": {"7"}}, llm.ErrKindRateLimited, "Number of request tokens has exceeded your per-minute rate limit", 7},
		{"429 ms", 429, apiError("rate_limit_error", "slow down"), http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"9"}}, llm.ErrKindRateLimited, "slow down", 2},
		{"429 spend limit", 429,
			`{"type":"error","error":{"type":"rate_limit_error","message":"spend limit reached","details":{"error_code":"enforced_spend_limit_reached"}}}`,
			nil, llm.ErrKindQuota, "spend limit reached", 0},
		{"500", 500, apiError("api_error", "Internal server error"), nil, llm.ErrKindUnavailable, "Internal server error", 0},
		{"504", 504, apiError("timeout_error", "Request timeout"), nil, llm.ErrKindUnavailable, "Request timeout", 0},
		{"529", 529, apiError("overloaded_error", "Overloaded"), http.Header{"Retry-After": {"2.5"}}, llm.ErrKindUnavailable, "Overloaded", 3},
	}
	for _, tc := range cases {
		for _, streamed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, streamed), func(t *testing.T) {
				t.Parallel()
				f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.header {
						w.Header()[k] = v
					}
					replying(tc.status, tc.body)(w, r)
				})
				p := newProvider(t, anthropic.Config{Name: "acme", BaseURL: f.URL, APIKey: "k"})
				_, _, err := generate(context.Background(), p, userRequest("hi"), streamed)
				e := wantKind(t, err, tc.kind)
				if e.Provider != "acme" || e.StatusCode != tc.status || e.Message != tc.message || e.RetryAfterSeconds != tc.retryAfter {
					t.Errorf("error = %+v, want status %d, message %q, retry after %d", e, tc.status, tc.message, tc.retryAfter)
				}
				var apiErr *sdk.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
					t.Errorf("the cause %v is not the SDK's error", e.Err)
				}
				if n := f.count(); n != 1 {
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
		{"message", "application/json", `{"message":"Unauthorized"}`, 401, llm.ErrKindAuth, "Unauthorized"},
		{"detail", "application/json", `{"detail":"Not Found"}`, 404, llm.ErrKindNotFound, "Not Found"},
		{"empty", "", "", 500, llm.ErrKindUnavailable, "Internal Server Error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			p := newProvider(t, anthropic.Config{BaseURL: f.URL})
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
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", at)
		replying(429, apiError("rate_limit_error", "slow down"))(w, r)
	})
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
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
	const key = "sk-ant-api03-secret-4242"
	for _, streamed := range []bool{false, true} {
		f := newFake(t, replying(401, apiError("authentication_error", "invalid x-api-key: "+key)))
		p := newProvider(t, anthropic.Config{BaseURL: f.URL, APIKey: key})
		_, _, err := generate(context.Background(), p, userRequest("x"), streamed)
		e := wantKind(t, err, llm.ErrKindAuth)
		var apiErr *sdk.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("the cause %v is not the SDK's error", e.Err)
		}
		dumps := []string{err.Error(), e.Message, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e), fmt.Sprint(e.Err),
			string(apiErr.DumpRequest(true)), fmt.Sprint(apiErr.Request.Header), fmt.Sprint(apiErr.Response.Request.Header)}
		for _, s := range dumps {
			if strings.Contains(s, key) {
				t.Errorf("stream %v: the key leaks into %q", streamed, s)
			}
		}
		if !strings.Contains(e.Message, "[redacted]") {
			t.Errorf("message = %q", e.Message)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	p := newProvider(t, anthropic.Config{BaseURL: url})
	for _, streamed := range []bool{false, true} {
		_, _, err := generate(context.Background(), p, userRequest("x"), streamed)
		e := wantKind(t, err, llm.ErrKindUnavailable)
		if e.StatusCode != 0 || !e.Retryable() {
			t.Errorf("error = %+v", e)
		}
	}
}

// TestMidStreamBreak cuts the connection after two deltas.
func TestMidStreamBreak(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, messageStart(smallUsage), textStart(0), textDelta(0, "a"), textDelta(0, "b"))
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindUnavailable)
	if strings.Join(deltas, "") != "ab" {
		t.Errorf("deltas = %q, want the two sent before the break", deltas)
	}
}

func TestStreamEndsEarly(t *testing.T) {
	t.Parallel()
	// A clean end of body with neither message_delta nor message_stop.
	f := newFake(t, streaming(messageStart(smallUsage), textStart(0), textDelta(0, "par")))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	_, _, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindUnavailable)
}

func TestStreamErrorEvent(t *testing.T) {
	t.Parallel()
	for typ, kind := range map[string]string{
		"overloaded_error":      llm.ErrKindUnavailable,
		"api_error":             llm.ErrKindUnavailable,
		"rate_limit_error":      llm.ErrKindRateLimited,
		"invalid_request_error": llm.ErrKindInvalid,
	} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, streaming(messageStart(smallUsage), textStart(0), textDelta(0, "x"),
				event{"error", apiError(typ, "Something happened")}))
			p := newProvider(t, anthropic.Config{BaseURL: f.URL})
			_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
			e := wantKind(t, err, kind)
			if e.Message != "the stream failed: Something happened" || e.StatusCode != 0 {
				t.Errorf("error = %+v", e)
			}
			if strings.Join(deltas, "") != "x" {
				t.Errorf("deltas = %q", deltas)
			}
		})
	}
}

func TestMalformedStreamIsInvalid(t *testing.T) {
	t.Parallel()
	// A delta for a content block that never started.
	f := newFake(t, streaming(messageStart(smallUsage), textDelta(3, "x"), messageStop))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	_, _, err := generate(context.Background(), p, userRequest("x"), true)
	if e := wantKind(t, err, llm.ErrKindInvalid); e.StatusCode != http.StatusOK {
		t.Errorf("error = %+v", e)
	}
}

// TestCallerCancelReachesServer checks that cancelling the caller's context
// ends the server's request, and that the error says cancelled.
func TestCallerCancelReachesServer(t *testing.T) {
	t.Parallel()
	for _, streamed := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streamed), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, blocking)
			p := newProvider(t, anthropic.Config{BaseURL: f.URL})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, _, err := generate(ctx, p, userRequest("x"), streamed)
				errc <- err
			}()
			req := <-f.arrived
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
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, messageStart(smallUsage), textStart(0), textDelta(0, "a"))
		<-r.Context().Done() // the second delta never comes
	})
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
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
}

func TestCallerDeadlineIsCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t, blocking)
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Generate(ctx, userRequest("x"), nil)
	wantKind(t, err, llm.ErrKindCancelled)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded inside", err)
	}
}

// TestTimeoutIsUnavailable checks that Config.Timeout ends a call whose
// server never answers, and a stream that stalls after message_start.
func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	stalled := func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, messageStart(smallUsage), ping)
		<-r.Context().Done()
	}
	for name, tc := range map[string]struct {
		h        http.HandlerFunc
		streamed bool
	}{
		"no answer":        {blocking, false},
		"no answer stream": {blocking, true},
		"stalled stream":   {stalled, true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.h)
			p := newProvider(t, anthropic.Config{BaseURL: f.URL, Timeout: 50 * time.Millisecond})
			_, _, err := generate(context.Background(), p, userRequest("x"), tc.streamed)
			e := wantKind(t, err, llm.ErrKindUnavailable)
			if !e.Retryable() || !errors.Is(err, context.DeadlineExceeded) || e.Message != "no complete answer within 50ms" {
				t.Errorf("error = %+v", e)
			}
		})
	}
}
