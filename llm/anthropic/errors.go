package anthropic

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/shared"

	"github.com/tessera-run/tessera/llm"
)

// classify turns an SDK, HTTP or network error into an *llm.Error. ctx is
// the caller's context: when it has ended the call was cancelled, whatever
// the transport then reported. callCtx is ctx with the per-call timeout:
// when only it has ended, the call timed out.
func (p *Provider) classify(ctx, callCtx context.Context, err error, res *http.Response) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return p.newError(0, llm.ErrKindCancelled, "the call was cancelled: "+ctxErr.Error(), ctxErr)
	}
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		scrub(apiErr)
		info := errorInfoOf(apiErr)
		if apiErr.StatusCode < http.StatusBadRequest {
			// An error event in a stream whose 200 response had begun.
			return p.newError(0, typeKind(info.typ), "the stream failed: "+info.messageOr(cmp.Or(info.typ, "error event")), err)
		}
		return p.statusError(apiErr.StatusCode, apiErr.Response, info, err)
	}
	if res != nil && res.StatusCode >= http.StatusBadRequest {
		// An error response whose body could not be read.
		return p.statusError(res.StatusCode, res, errorInfo{}, err)
	}
	if callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return p.newError(0, llm.ErrKindUnavailable, fmt.Sprintf("no complete answer within %s", p.timeout), err)
	}
	// No usable response: refused, reset, or broken mid-stream.
	return p.newError(0, llm.ErrKindUnavailable, err.Error(), err)
}

// scrub removes the credentials from the requests the SDK keeps in its
// error (the one it built and the clone it sent), so that dumping the
// cause cannot leak the key.
func scrub(apiErr *sdk.Error) {
	reqs := []*http.Request{apiErr.Request}
	if apiErr.Response != nil {
		reqs = append(reqs, apiErr.Response.Request)
	}
	for _, r := range reqs {
		if r != nil {
			r.Header.Del("Authorization")
			r.Header.Del("X-Api-Key")
		}
	}
}

func (p *Provider) statusError(status int, res *http.Response, info errorInfo, cause error) error {
	e := p.newError(status, statusKind(status, info), info.messageOr(http.StatusText(status)), cause)
	if res != nil {
		e.RetryAfterSeconds = retryAfterSeconds(res.Header, time.Now())
	}
	return e
}

// statusKind classifies an HTTP error. 529 (overloaded) is a 5xx like the
// others: unavailable.
func statusKind(status int, info errorInfo) string {
	if info.outOfCredit(status) {
		return llm.ErrKindQuota
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return llm.ErrKindAuth
	case status == http.StatusNotFound:
		return llm.ErrKindNotFound
	case status == http.StatusPaymentRequired:
		return llm.ErrKindQuota
	case status == http.StatusTooManyRequests:
		return llm.ErrKindRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return llm.ErrKindUnavailable
	default: // 400, 413 and the other 4xx: the request itself is refused
		return llm.ErrKindInvalid
	}
}

// typeKind classifies the error event of a stream by its type alone.
func typeKind(typ string) string {
	switch shared.ErrorType(typ) {
	case shared.ErrorTypeAuthenticationError, shared.ErrorTypePermissionError:
		return llm.ErrKindAuth
	case shared.ErrorTypeBillingError:
		return llm.ErrKindQuota
	case shared.ErrorTypeNotFoundError:
		return llm.ErrKindNotFound
	case shared.ErrorTypeRateLimitError:
		return llm.ErrKindRateLimited
	case shared.ErrorTypeInvalidRequestError:
		return llm.ErrKindInvalid
	default: // overloaded_error, api_error, timeout_error, or new
		return llm.ErrKindUnavailable
	}
}

// spendCodes are the error codes of an organization out of money rather
// than over a rate: waiting does not help.
var spendCodes = map[string]bool{
	string(sdk.ErrorCodeContractSpendLimitReached):            true,
	string(sdk.ErrorCodeEnforcedSpendLimitReached):            true,
	string(sdk.ErrorCodeLinkedOrganizationSpendLimitReached):  true,
	string(sdk.ErrorCodeLinkedOrganizationBillingUnavailable): true,
}

// errorInfo is what an error body says.
type errorInfo struct {
	message, typ, code string
}

func (i errorInfo) messageOr(fallback string) string {
	if i.message != "" {
		return i.message
	}
	return fallback
}

// outOfCredit reports a billing error, a spending limit reached, or the
// 400 invalid_request_error Anthropic answers when the credit balance is
// too low.
func (i errorInfo) outOfCredit(status int) bool {
	return i.typ == string(shared.ErrorTypeBillingError) || spendCodes[i.code] ||
		status == http.StatusBadRequest && strings.Contains(strings.ToLower(i.message), "credit balance")
}

func errorInfoOf(apiErr *sdk.Error) errorInfo {
	info := errorInfo{message: apiErr.Message, typ: string(apiErr.Type()), code: string(apiErr.ErrorCode())}
	if info.message == "" {
		info.message = bodyMessage(apiErr.RawJSON())
	}
	return info
}

// bodyMessage reads the message of an error body that is not Anthropic's
// {"type":"error","error":{…}}, as proxies send: {"error":"…"},
// {"message":…}, {"detail":…} or plain text.
func bodyMessage(raw string) string {
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal([]byte(raw), &body) != nil {
		return shorten(strings.TrimSpace(raw))
	}
	var s string
	if json.Unmarshal(body.Error, &s) == nil && s != "" {
		return s
	}
	if body.Message != "" {
		return body.Message
	}
	if d, ok := body.Detail.(string); ok {
		return d
	}
	return ""
}

func shorten(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// newError builds the error; the message and the cause's text have the
// API key redacted.
func (p *Provider) newError(status int, kind, msg string, cause error) *llm.Error {
	if cause != nil && p.apiKey != "" {
		cause = &redactedError{msg: p.redact(cause.Error()), err: cause}
	}
	return &llm.Error{Provider: p.name, StatusCode: status, Kind: kind, Message: p.redact(msg), Err: cause}
}

// redactedError is a cause whose text has the key redacted; errors.Is and
// errors.As still reach the error it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact is a last defence: some servers echo the key they were sent. Only
// whole tokens are replaced, so that a short placeholder key ("x") does not
// mangle the words that contain it.
func (p *Provider) redact(msg string) string { return llm.RedactKey(msg, p.apiKey) }

// retryAfterSeconds reads Retry-After-Ms, the finer value, and failing
// that Retry-After (delay-seconds or an HTTP date), in the order the SDK
// reads them. It rounds up so that a caller waiting that long is never
// early; 0 means none.
func retryAfterSeconds(h http.Header, now time.Time) int {
	if n := llm.RetryAfterMs(h); n > 0 {
		return n
	}
	return llm.RetryAfter(h, now)
}
