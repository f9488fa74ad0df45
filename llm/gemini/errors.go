package gemini

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/tessera-run/tessera/llm"
)

// retryInfoType is the type of the detail in which Google says how long to
// wait before retrying.
const retryInfoType = "type.googleapis.com/google.rpc.RetryInfo"

// classify turns an SDK, HTTP or network error into an *llm.Error. ctx is
// the caller's context: when it has ended the call was cancelled, whatever
// the transport then reported. callCtx also carries the Timeout.
func (p *Provider) classify(ctx, callCtx context.Context, err error, rec *responseRecord) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return p.newError(0, llm.ErrKindCancelled, "the call was cancelled: "+ctxErr.Error(), ctxErr)
	}
	if apiErr, ok := asAPIError(err); ok {
		return p.apiError(apiErr, rec)
	}
	if callCtx.Err() != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return p.newError(0, llm.ErrKindUnavailable, fmt.Sprintf("no complete answer within %s", p.timeout), err)
	}
	// No usable response: refused, reset, or broken mid-stream.
	return p.newError(0, llm.ErrKindUnavailable, err.Error(), err)
}

func asAPIError(err error) (genai.APIError, bool) {
	var e genai.APIError
	if errors.As(err, &e) {
		return e, true
	}
	var ptr *genai.APIError
	if errors.As(err, &ptr) && ptr != nil {
		return *ptr, true
	}
	return genai.APIError{}, false
}

// apiError classifies an error the API answered: with an HTTP error
// status, or as an error event in a stream that had started (HTTP 200,
// StatusCode 0, the kind read from the event's code).
func (p *Provider) apiError(e genai.APIError, rec *responseRecord) error {
	status, code, msg := 0, e.Code, cmp.Or(e.Message, e.Status)
	if rec.status >= http.StatusBadRequest {
		status, code = rec.status, rec.status
		msg = cmp.Or(msg, http.StatusText(status))
	} else {
		msg = "the stream failed: " + cmp.Or(msg, "no reason given")
	}
	le := p.newError(status, kindOf(code, e), shorten(msg), p.scrub(e))
	le.RetryAfterSeconds = cmp.Or(llm.RetryAfter(rec.header, time.Now()), retryDelaySeconds(e.Details))
	return le
}

// kindOf reads the HTTP code first, then the gRPC status name, the only
// one an error event may carry.
func kindOf(code int, e genai.APIError) string {
	if (code == http.StatusBadRequest || code == 0 && e.Status == "INVALID_ARGUMENT") && keyRejected(e) {
		return llm.ErrKindAuth // Gemini answers a bad key with 400 INVALID_ARGUMENT
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return llm.ErrKindAuth
	case code == http.StatusNotFound:
		return llm.ErrKindNotFound
	case code == http.StatusPaymentRequired:
		return llm.ErrKindQuota
	case code == http.StatusTooManyRequests:
		return llm.ErrKindRateLimited
	case code == http.StatusRequestTimeout || code == http.StatusConflict || code == 499 || code >= 500:
		return llm.ErrKindUnavailable
	case code >= 400:
		return llm.ErrKindInvalid
	}
	switch e.Status {
	case "UNAUTHENTICATED", "PERMISSION_DENIED":
		return llm.ErrKindAuth
	case "NOT_FOUND":
		return llm.ErrKindNotFound
	case "RESOURCE_EXHAUSTED":
		return llm.ErrKindRateLimited
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		return llm.ErrKindInvalid
	}
	return llm.ErrKindUnavailable
}

// keyRejected reports whether the error is about the API key: an
// ErrorInfo detail with a reason such as API_KEY_INVALID, or, without
// one, a message that says so.
func keyRejected(e genai.APIError) bool {
	for _, d := range e.Details {
		if reason, ok := d["reason"].(string); ok {
			return strings.HasPrefix(reason, "API_KEY_")
		}
	}
	return strings.Contains(strings.ToLower(e.Message), "api key")
}

// scrub returns e with the key redacted from its message and details
// (Google echoes a suspended key's ID in both), so that dumping the cause
// cannot leak it either.
func (p *Provider) scrub(e genai.APIError) error {
	e.Message = p.redact(e.Message)
	if len(e.Details) > 0 && p.apiKey != "" {
		data, err := json.Marshal(e.Details)
		var details []map[string]any
		if err != nil || json.Unmarshal([]byte(p.redact(string(data))), &details) != nil {
			details = nil
		}
		e.Details = details
	}
	return e
}

func (p *Provider) newError(status int, kind, msg string, cause error) *llm.Error {
	return &llm.Error{Provider: p.name, StatusCode: status, Kind: kind, Message: p.redact(msg), Err: cause}
}

// redact is a last defence: the SDK sends the key in a header, never in
// the URL, but some errors quote it. Only whole tokens are replaced, so
// that a short placeholder key ("x") does not mangle the words that
// contain it.
func (p *Provider) redact(msg string) string { return llm.RedactKey(msg, p.apiKey) }

func shorten(s string) string {
	const max = 300
	s = strings.TrimSpace(s)
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// retryDelaySeconds reads the retryDelay ("34s", "0.5s") of a RetryInfo
// detail, which is how Gemini says when to come back after a 429.
func retryDelaySeconds(details []map[string]any) int {
	for _, d := range details {
		if d["@type"] != retryInfoType {
			continue
		}
		if s, ok := d["retryDelay"].(string); ok {
			if delay, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
				return llm.CeilSeconds(delay.Seconds())
			}
		}
	}
	return 0
}
