package instances

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// ValidationDetail is one FastAPI validation error.
type ValidationDetail struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// WriteError writes err as FastAPI does. It is the one place this surface
// maps error kinds to statuses.
func WriteError(log *slog.Logger) httpx.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		status := http.StatusInternalServerError
		var detail any = tessera.ErrorMessage(err)
		switch tessera.ErrorCode(err) {
		case tessera.EINVALID, tessera.EMALFORMED:
			status = http.StatusUnprocessableEntity
			detail = validationDetails(err)
		case tessera.EUNAUTHORIZED:
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", "Bearer")
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
			status = http.StatusTooManyRequests
			retry := 1
			if e, ok := tessera.AsError(err); ok && e.RetryAfter > 0 {
				retry = e.RetryAfter
			}
			w.Header().Set("Retry-After", strconv.Itoa(retry))
		case tessera.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
		default:
			log.Error("internal error", "err", err, "path", r.URL.Path, "request_id", httpx.RequestIDFrom(r.Context()))
			detail = "Internal Server Error"
		}
		httpx.WriteJSON(w, status, map[string]any{"detail": detail})
	}
}

// validationDetails turns field problems into FastAPI's list. Field names
// carry their location as a prefix ("query.x", "path.id", "header.x");
// bare names are body fields.
func validationDetails(err error) []ValidationDetail {
	e, ok := tessera.AsError(err)
	if !ok || len(e.Fields) == 0 {
		return []ValidationDetail{{Loc: []any{"body"}, Msg: tessera.ErrorMessage(err), Type: "value_error"}}
	}
	names := make([]string, 0, len(e.Fields))
	for n := range e.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []ValidationDetail
	for _, n := range names {
		loc := []any{"body"}
		if where, rest, ok := strings.Cut(n, "."); ok && (where == "query" || where == "path" || where == "header") {
			loc = []any{where, rest}
		} else {
			for part := range strings.SplitSeq(n, ".") {
				if i, err := strconv.Atoi(part); err == nil {
					loc = append(loc, i)
				} else {
					loc = append(loc, part)
				}
			}
		}
		for _, m := range e.Fields[n] {
			out = append(out, ValidationDetail{Loc: loc, Msg: m, Type: "value_error"})
		}
	}
	return out
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	WriteError(h.log)(w, r, err)
}
