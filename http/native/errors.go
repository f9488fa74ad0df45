package native

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Status     int           `json:"status"`
	Detail     string        `json:"detail"`
	Errors     []FieldDetail `json:"errors,omitempty"`
	RetryAfter int           `json:"retry_after,omitempty"`
}

// FieldDetail is one problem with one field.
type FieldDetail struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

// WriteError writes err as problem+json. It is the one place this surface
// maps error kinds to statuses.
func WriteError(log *slog.Logger) httpx.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status := http.StatusInternalServerError
		p := Problem{Type: "about:blank", Detail: tessera.ErrorMessage(err)}
		switch tessera.ErrorCode(err) {
		case tessera.EINVALID:
			status = http.StatusUnprocessableEntity
			if e, ok := tessera.AsError(err); ok {
				p.Errors = fieldDetails(e.Fields)
			}
		case tessera.EMALFORMED:
			status = http.StatusBadRequest
		case tessera.EUNAUTHORIZED:
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="tessera"`)
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
			status, p.RetryAfter = http.StatusTooManyRequests, 1
			if e, ok := tessera.AsError(err); ok && e.RetryAfter > 0 {
				p.RetryAfter = e.RetryAfter
			}
			w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
		case tessera.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		default:
			log.Error("internal error", "err", err, "path", r.URL.Path, "request_id", httpx.RequestIDFrom(r.Context()))
		}
		p.Status, p.Title = status, http.StatusText(status)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = httpx.Encode(w, p)
	}
}

func fieldDetails(fields map[string][]string) []FieldDetail {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []FieldDetail
	for _, n := range names {
		for _, m := range fields[n] {
			out = append(out, FieldDetail{Location: "body." + n, Message: m})
		}
	}
	return out
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(h.log)(w, r, err)
}
