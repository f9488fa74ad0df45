package openai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/tessera-run/tessera/llm"
)

// maxErrorBody bounds how much of an error body is read for its message.
const maxErrorBody = 64 << 10

// classify turns an SDK, HTTP or network error into an *llm.Error. ctx is
// the caller's context: when it has ended the call was cancelled, whatever
// the transport then reported.
func (p *Provider) classify(ctx context.Context, err error, res *http.Response) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return p.newError(0, llm.ErrKindCancelled, "the call was cancelled: "+ctxErr.Error(), ctxErr)
	}
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		scrub(apiErr)
		if apiErr.Response != nil {
			res = apiErr.Response
		}
		return p.statusError(apiErr.StatusCode, res, errorInfoOf(apiErr, res), err)
	}
	if res != nil && res.StatusCode >= http.StatusBadRequest {
		// An error body the SDK could not parse (plain text, {"error":"…"}).
		return p.statusError(res.StatusCode, res, bodyInfo(res), err)
	}
	var streamErr *ssestream.StreamError
	if errors.As(err, &streamErr) {
		return p.newError(0, llm.ErrKindUnavailable, streamErrorMessage(streamErr), err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return p.newError(0, llm.ErrKindUnavailable, fmt.Sprintf("no complete answer within %s", p.timeout), err)
	}
	// No usable response: refused, reset, or broken mid-stream.
	return p.newError(0, llm.ErrKindUnavailable, err.Error(), err)
}

// scrub removes the credentials from the request the SDK keeps in its
// error, so that dumping the cause cannot leak the key.
func scrub(apiErr *sdk.Error) {
	if apiErr.Request != nil {
		apiErr.Request.Header.Del("Authorization")
	}
}

func (p *Provider) statusError(status int, res *http.Response, info errorInfo, cause error) error {
	e := p.newError(status, statusKind(status, info), info.messageOr(http.StatusText(status)), cause)
	if res != nil {
		e.RetryAfterSeconds = retryAfterSeconds(res.Header, time.Now())
	}
	return e
}

func statusKind(status int, info errorInfo) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return llm.ErrKindAuth
	case status == http.StatusNotFound:
		return llm.ErrKindNotFound
	case status == http.StatusPaymentRequired: // some gateways' "out of credit"
		return llm.ErrKindQuota
	case status == http.StatusTooManyRequests:
		if info.code == "insufficient_quota" || info.typ == "insufficient_quota" {
			return llm.ErrKindQuota
		}
		return llm.ErrKindRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return llm.ErrKindUnavailable
	default: // 400, 422 and the other 4xx: the request itself is refused
		return llm.ErrKindInvalid
	}
}

func (p *Provider) newError(status int, kind, msg string, cause error) *llm.Error {
	return &llm.Error{Provider: p.name, StatusCode: status, Kind: kind, Message: p.redact(msg), Err: cause}
}

// redact is a last defence: some servers echo the key they were sent. Only
// whole tokens are replaced, so that a short placeholder key ("x") does not
// mangle the words that contain it.
func (p *Provider) redact(msg string) string { return llm.RedactKey(msg, p.apiKey) }

// errorInfo is what an error body says.
type errorInfo struct {
	message, code, typ string
}

func (i errorInfo) messageOr(fallback string) string {
	if i.message != "" {
		return i.message
	}
	return fallback
}

func errorInfoOf(apiErr *sdk.Error, res *http.Response) errorInfo {
	info := errorInfo{message: apiErr.Message, code: apiErr.Code, typ: apiErr.Type}
	if info.message == "" {
		body := bodyInfo(res)
		info.message = body.message
		info.code = cmp.Or(info.code, body.code)
		info.typ = cmp.Or(info.typ, body.typ)
	}
	return info
}

// bodyInfo reads an error body in the shapes compatible servers use:
// {"error":{"message":…}}, {"error":"…"}, {"message":…}, {"detail":…} or
// plain text.
func bodyInfo(res *http.Response) errorInfo {
	if res == nil || res.Body == nil {
		return errorInfo{}
	}
	data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(data, &body) != nil {
		return errorInfo{message: shorten(strings.TrimSpace(string(data)))}
	}
	if info, ok := errorObject(body.Error); ok {
		return info
	}
	if body.Message != "" {
		return errorInfo{message: body.Message}
	}
	if s, ok := body.Detail.(string); ok {
		return errorInfo{message: s}
	}
	return errorInfo{}
}

func errorObject(raw json.RawMessage) (errorInfo, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return errorInfo{message: s}, true
	}
	var obj struct {
		Message string          `json:"message"`
		Code    json.RawMessage `json:"code"`
		Type    string          `json:"type"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Message == "" {
		return errorInfo{}, false
	}
	return errorInfo{message: obj.Message, code: jsonString(obj.Code), typ: obj.Type}, true
}

// jsonString reads a code that servers send as a string or a number.
func jsonString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

func streamErrorMessage(e *ssestream.StreamError) string {
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(e.Event.Data, &body) == nil {
		if info, ok := errorObject(body.Error); ok {
			return "the stream failed: " + info.message
		}
	}
	return e.Message
}

func shorten(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// retryAfterSeconds reads Retry-After (delay-seconds or an HTTP date) and,
// failing that, the non-standard Retry-After-Ms some servers send. It
// rounds up so that a caller waiting that long is never early; 0 means none.
func retryAfterSeconds(h http.Header, now time.Time) int {
	if n := llm.RetryAfter(h, now); n > 0 {
		return n
	}
	return llm.RetryAfterMs(h)
}
