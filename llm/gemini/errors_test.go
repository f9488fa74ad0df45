package gemini_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/gemini"
)

// Error bodies as the Gemini API sends them.
const (
	badKeyBody = `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
"metadata":{"service":"generativelanguage.googleapis.com"}},
{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`
	rateLimitBody = `{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED",
"details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests",
"quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},
{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"33.5s"}]}}`
)

func googleError(code int, status, message string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"status":%q}}`, code, message, status)
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		status     int
		body       string
		header     []string
		kind       string
		message    string
		retryAfter int
	}{
		{"400 bad key", 400, badKeyBody, nil, llm.ErrKindAuth, "API key not valid. Please pass a valid API key.", 0},
		{"400", 400, googleError(400, "INVALID_ARGUMENT", "* GenerateContentRequest.contents: contents is not specified"), nil,
			llm.ErrKindInvalid, "* GenerateContentRequest.contents: contents is not specified", 0},
		{"400 location", 400, googleError(400, "FAILED_PRECONDITION", "User location is not supported for the API use."), nil,
			llm.ErrKindInvalid, "User location is not supported for the API use.", 0},
		{"401", 401, googleError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."), nil,
			llm.ErrKindAuth, "Request had invalid authentication credentials.", 0},
		{"403", 403, googleError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."), nil,
			llm.ErrKindAuth, "Method doesn't allow unregistered callers.", 0},
		{"404", 404, googleError(404, "NOT_FOUND", "models/gemini-nope is not found for API version v1beta."), nil,
			llm.ErrKindNotFound, "models/gemini-nope is not found for API version v1beta.", 0},
		{"429 retry info", 429, rateLimitBody, nil,
			llm.ErrKindRateLimited, "You exceeded your current quota, please check your plan and billing details.", 34},
		{"429 Retry-After", 429, googleError(429, "RESOURCE_EXHAUSTED", "slow down"), []string{"Retry-After", "7"},
			llm.ErrKindRateLimited, "slow down", 7},
		{"500", 500, googleError(500, "INTERNAL", "An internal error has occurred."), nil,
			llm.ErrKindUnavailable, "An internal error has occurred.", 0},
		{"503", 503, googleError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."), []string{"Retry-After", "2"},
			llm.ErrKindUnavailable, "The model is overloaded. Please try again later.", 2},
		{"504", 504, googleError(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."), nil,
			llm.ErrKindUnavailable, "Deadline expired before operation could complete.", 0},
		{"502 plain text", 502, "<html>Bad Gateway</html>", nil, llm.ErrKindUnavailable, "<html>Bad Gateway</html>", 0},
		{"500 empty", 500, "", nil, llm.ErrKindUnavailable, "500 Internal Server Error", 0},
	}
	for _, tc := range cases {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, streaming), func(t *testing.T) {
				t.Parallel()
				f := newFake(t, failing(tc.status, tc.body, tc.header...))
				p := newProvider(t, gemini.Config{Name: "acme", BaseURL: f.URL})
				_, _, err := generate(context.Background(), p, userRequest("hi"), streaming)
				e := wantKind(t, err, tc.kind)
				if e.Provider != "acme" || e.StatusCode != tc.status || e.Message != tc.message || e.RetryAfterSeconds != tc.retryAfter {
					t.Errorf("error = %+v, want status %d, message %q, retry after %d", e, tc.status, tc.message, tc.retryAfter)
				}
				if e.Err == nil {
					t.Error("no cause")
				}
				if n := len(f.requests()); n != 1 {
					t.Errorf("server got %d requests, want 1: the SDK must not retry", n)
				}
			})
		}
	}
}

func TestAPIKeyNeverInErrors(t *testing.T) {
	t.Parallel()
	// Google names a suspended key in the message and in the details.
	body := `{"error":{"code":403,"message":"Permission denied: Consumer 'api_key:` + testKey + `' has been suspended.","status":"PERMISSION_DENIED",
"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"CONSUMER_SUSPENDED","domain":"googleapis.com",
"metadata":{"consumer":"api_key:` + testKey + `","service":"generativelanguage.googleapis.com"}}]}}`
	for _, streaming := range []bool{false, true} {
		f := newFake(t, failing(http.StatusForbidden, body))
		p := newProvider(t, gemini.Config{BaseURL: f.URL})
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindAuth)
		for _, s := range []string{err.Error(), e.Message, fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e), fmt.Sprint(e.Err), fmt.Sprintf("%#v", e.Err)} {
			if strings.Contains(s, testKey) {
				t.Errorf("stream=%v: the key leaks into %q", streaming, s)
			}
		}
		if !strings.Contains(e.Message, "api_key:[redacted]") {
			t.Errorf("message = %q", e.Message)
		}
	}
}

func TestStreamErrorEvent(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(
		`{"candidates":[{"content":{"parts":[{"text":"par"}],"role":"model"}}]}`,
		`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`,
	))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
	e := wantKind(t, err, llm.ErrKindUnavailable)
	if e.Message != "the stream failed: The model is overloaded." || e.StatusCode != 0 {
		t.Errorf("error = %+v", e)
	}
	if strings.Join(deltas, "") != "par" {
		t.Errorf("deltas = %q", deltas)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	f := newFake(t, blocking)
	p := newProvider(t, gemini.Config{BaseURL: "http://127.0.0.1:1"})
	for _, streaming := range []bool{false, true} {
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindUnavailable)
		if e.StatusCode != 0 || !e.Retryable() {
			t.Errorf("error = %+v", e)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

// TestStalledStream checks that a stream that stops sending ends at the
// Timeout, with what had arrived already passed on.
func TestStalledStream(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *received) {
		writeSSE(w, `{"candidates":[{"content":{"parts":[{"text":"first"}],"role":"model"}}]}`)
		<-r.ctx.Done()
	})
	p := newProvider(t, gemini.Config{BaseURL: f.URL, Timeout: 50 * time.Millisecond})
	_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
	e := wantKind(t, err, llm.ErrKindUnavailable)
	if !e.Retryable() || !errors.Is(err, context.DeadlineExceeded) || e.Message != "no complete answer within 50ms" {
		t.Errorf("error = %+v", e)
	}
	if strings.Join(deltas, "") != "first" {
		t.Errorf("deltas = %q", deltas)
	}
	<-f.requests()[0].ctx.Done() // the server sees the client go away
}

func TestTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFake(t, blocking)
	p := newProvider(t, gemini.Config{BaseURL: f.URL, Timeout: 20 * time.Millisecond})
	for _, streaming := range []bool{false, true} {
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindUnavailable)
		if !e.Retryable() || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stream=%v: error = %+v", streaming, e)
		}
	}
}

// TestCallerCancelReachesServer checks that cancelling the caller's context
// ends the server's request, and that the error says cancelled.
func TestCallerCancelReachesServer(t *testing.T) {
	t.Parallel()
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streaming), func(t *testing.T) {
			t.Parallel()
			f := newFake(t, blocking)
			p := newProvider(t, gemini.Config{BaseURL: f.URL})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, _, err := generate(ctx, p, userRequest("x"), streaming)
				errc <- err
			}()
			req := <-f.arrived
			cancel()
			<-req.ctx.Done() // the server sees the client go away
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
	f := newFake(t, func(w http.ResponseWriter, r *received) {
		writeSSE(w, `{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"}}]}`)
		<-r.ctx.Done()
	})
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
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
	<-f.requests()[0].ctx.Done()
}

func TestCallerDeadlineIsCancelled(t *testing.T) {
	t.Parallel()
	f := newFake(t, blocking)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Generate(ctx, userRequest("x"), nil)
	wantKind(t, err, llm.ErrKindCancelled)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded inside", err)
	}
}
