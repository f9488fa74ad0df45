package openaicompat

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// apiError is an error as OpenAI's API sends it, with its status. It is
// itself an error, so that a handler can hand a fully shaped error (a model
// that does not exist, a failed execution) to WriteError.
type apiError struct {
	status     int
	Message    string  `json:"message"`
	Type       string  `json:"type"`
	Param      *string `json:"param"`
	Code       *string `json:"code"`
	retryAfter int
	// noRetry tells OpenAI SDKs (x-should-retry: false) not to retry: the
	// execution exists, and a retry would start another one.
	noRetry bool
}

func (e *apiError) Error() string {
	return fmt.Sprintf("openaicompat: %d %s: %s", e.status, e.Type, e.Message)
}

func ptr(s string) *string { return &s }

// WriteError writes err in OpenAI's shape. Internal errors are logged and
// shown with a generic message.
func WriteError(log *slog.Logger) httpx.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		e, ok := errors.AsType[*apiError](err)
		if !ok {
			e = fromKind(err)
		}
		if e.status == http.StatusInternalServerError {
			log.Error("internal error", "err", err, "path", r.URL.Path, "request_id", httpx.RequestIDFrom(r.Context()))
		}
		h := w.Header()
		switch {
		case e.status == http.StatusUnauthorized:
			h.Set("WWW-Authenticate", `Bearer realm="tessera"`)
		case e.retryAfter > 0:
			h.Set("Retry-After", strconv.Itoa(e.retryAfter))
		case e.noRetry:
			h.Set("X-Should-Retry", "false")
		}
		httpx.WriteJSON(w, e.status, map[string]*apiError{"error": e})
	}
}

// fromKind is the one place this surface maps error kinds to statuses,
// types and codes, following OpenAI's own choices where it has one (a bad
// key is invalid_request_error/invalid_api_key, as OpenAI answers it).
func fromKind(err error) *apiError {
	e := &apiError{Message: tessera.ErrorMessage(err), Type: "invalid_request_error"}
	switch tessera.ErrorCode(err) {
	case tessera.EINVALID:
		e.status, e.Param = http.StatusBadRequest, param(err)
	case tessera.EMALFORMED:
		e.status = http.StatusBadRequest
	case tessera.EUNAUTHORIZED:
		e.status, e.Code = http.StatusUnauthorized, ptr("invalid_api_key")
		e.Message = "Invalid authentication: send a valid Tessera API key as the bearer token."
	case tessera.EFORBIDDEN:
		e.status, e.Type, e.Code = http.StatusForbidden, "permission_error", ptr("permission_denied")
	case tessera.ENOTFOUND:
		e.status, e.Code = http.StatusNotFound, ptr("not_found")
	case tessera.ECONFLICT:
		// OpenAI SDKs retry a 409 (OpenAI's lock timeouts); Tessera's
		// conflicts (an Idempotency-Key reused, a busy thread) would only
		// repeat.
		e.status, e.Code, e.noRetry = http.StatusConflict, ptr("conflict"), true
	case tessera.ETOOLARGE:
		e.status, e.Code = http.StatusRequestEntityTooLarge, ptr("request_too_large")
	case tessera.ERATELIMITED:
		e.status, e.Type, e.Code, e.retryAfter = http.StatusTooManyRequests, "rate_limit_error", ptr("rate_limit_exceeded"), 1
		if te, ok := tessera.AsError(err); ok && te.RetryAfter > 0 {
			e.retryAfter = te.RetryAfter
		}
	case tessera.EUNAVAILABLE:
		e.status, e.Type, e.Code = http.StatusServiceUnavailable, "server_error", ptr("service_unavailable")
	default:
		e.status, e.Type = http.StatusInternalServerError, "server_error"
		e.Message = "The server had an error while processing your request."
	}
	return e
}

// param names the field a validation error is about: the first field
// (by name) whose first problem is the error's message.
func param(err error) *string {
	te, ok := tessera.AsError(err)
	if !ok {
		return nil
	}
	var names []string
	for name, msgs := range te.Fields {
		if len(msgs) > 0 && msgs[0] == te.Message {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return ptr(slices.Min(names))
}

// invalid is an EINVALID error about one field.
func invalid(field, msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}

// modelNotFound is OpenAI's answer to an unknown model, which on /v1 names
// an agent.
func modelNotFound(model string) error {
	e := fromKind(tessera.Errorf(tessera.ENOTFOUND,
		"The model %q does not exist: on this server a model names a chat agent (by slug or id) of your workspace; GET /v1/models lists them.", model))
	e.Param, e.Code = ptr("model"), ptr("model_not_found")
	return e
}

// outcomeError is the error a finished (or unfinished) execution answers
// with, or nil when it completed.
func outcomeError(id int64, status tessera.Status, msg string) *apiError {
	e := &apiError{Type: "server_error", Message: msg, noRetry: true}
	switch status {
	case tessera.StatusCompleted:
		return nil
	case tessera.StatusFailed:
		e.status, e.Code = http.StatusBadGateway, ptr("upstream_error")
		if e.Message == "" {
			e.Message = fmt.Sprintf("The execution %d failed.", id)
		}
	case tessera.StatusTimeout:
		e.status, e.Type, e.Code = http.StatusGatewayTimeout, "timeout_error", ptr("execution_timeout")
		if e.Message == "" {
			e.Message = fmt.Sprintf("The execution %d timed out.", id)
		}
	case tessera.StatusCancelled:
		e.status, e.Type, e.Code = http.StatusConflict, "invalid_request_error", ptr("execution_cancelled")
		if e.Message == "" {
			e.Message = fmt.Sprintf("The execution %d was cancelled.", id)
		}
	default:
		e.status, e.Type, e.Code = http.StatusGatewayTimeout, "timeout_error", ptr("execution_pending")
		e.Message = fmt.Sprintf("The execution %d has not finished yet and carries on; fetch its result with GET /agent-responses/%d.", id, id)
	}
	return e
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(h.log)(w, r, err)
}
