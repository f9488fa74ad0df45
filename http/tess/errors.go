package tess

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// WriteError writes err in Tess's shapes. It is the one place this surface
// maps error kinds to statuses. Validation errors carry per-field messages
// under both "messages" (Tess) and "errors" (Laravel, read by some clients).
func WriteError(log *slog.Logger) httpx.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		msg := tessera.ErrorMessage(err)
		body := map[string]any{"error": msg}
		status := http.StatusInternalServerError
		switch tessera.ErrorCode(err) {
		case tessera.EINVALID:
			status = http.StatusUnprocessableEntity
			if e, ok := tessera.AsError(err); ok && len(e.Fields) > 0 {
				body["messages"] = e.Fields
				body["errors"] = e.Fields
			}
			body["message"] = msg
		case tessera.EMALFORMED:
			status = http.StatusBadRequest
		case tessera.EUNAUTHORIZED:
			// Tess answers a bad token with 403 and this exact body.
			status, body["error"] = http.StatusForbidden, "Invalid authentication"
		case tessera.EFORBIDDEN:
			status = http.StatusForbidden
		case tessera.ENOTFOUND:
			status = http.StatusNotFound
		case tessera.EMETHOD:
			status = http.StatusMethodNotAllowed
		case tessera.ECONFLICT:
			status = http.StatusConflict
		case tessera.ETOOLARGE:
			status = http.StatusRequestEntityTooLarge
		case tessera.ERATELIMITED:
			status, body["error"] = http.StatusTooManyRequests, "Rate limit exceeded"
			retry := 1
			if e, ok := tessera.AsError(err); ok && e.RetryAfter > 0 {
				retry = e.RetryAfter
			}
			body["retry_after"] = retry
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		case tessera.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		default:
			log.Error("internal error", "err", err, "path", r.URL.Path, "request_id", httpx.RequestIDFrom(r.Context()))
			body["error"] = "Internal server error"
		}
		httpx.WriteJSON(w, status, body)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(h.log)(w, r, err)
}
