package tessera

import (
	"errors"
	"fmt"
	"slices"
)

// Error kinds. Every API surface maps these to its own status codes and body
// shape in exactly one place; anything else is an internal error whose cause
// is logged and never shown.
const (
	EINVALID      = "invalid"      // the request fails validation
	EMALFORMED    = "malformed"    // the request cannot be decoded at all
	ENOTFOUND     = "not_found"    // the resource does not exist in the caller's workspace
	EMETHOD       = "method"       // the resource exists but not with this method
	ECONFLICT     = "conflict"     // the request conflicts with the current state
	EFORBIDDEN    = "forbidden"    // the caller may not do this
	EUNAUTHORIZED = "unauthorized" // no or bad credentials
	ERATELIMITED  = "rate_limited" // try again after RetryAfter
	EUNAVAILABLE  = "unavailable"  // a dependency is down; retrying may help
	ETOOLARGE     = "too_large"    // the request body or a file is over a limit
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// Error is a domain error with a kind, a message safe to show to users and,
// for validation errors, messages per field.
type Error struct {
	Code    string
	Message string
	// Fields maps a field name (dotted for nested fields) to its problems.
	Fields map[string][]string
	// RetryAfter is set on ERATELIMITED errors, in seconds.
	RetryAfter int
}

func (e *Error) Error() string {
	return fmt.Sprintf("tessera: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given kind and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the kind of err, or EINTERNAL when err is not an *Error.
// It returns "" for a nil error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err; internal errors get a
// generic message so that causes never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal server error"
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// ValidationErrors collects per-field problems and becomes one EINVALID
// error, so a client sees every problem of a request at once.
type ValidationErrors struct {
	fields map[string][]string
	order  []string
}

// Add records a problem with field.
func (v *ValidationErrors) Add(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string][]string{}
	}
	if _, seen := v.fields[field]; !seen {
		v.order = append(v.order, field)
	}
	v.fields[field] = append(v.fields[field], fmt.Sprintf(format, args...))
}

// Empty reports whether no problem was recorded.
func (v *ValidationErrors) Empty() bool { return len(v.fields) == 0 }

// Err returns nil when no problem was recorded, otherwise an EINVALID *Error
// whose message is the first problem and whose Fields holds all of them.
func (v *ValidationErrors) Err() error {
	if v.Empty() {
		return nil
	}
	return &Error{Code: EINVALID, Message: v.fields[v.order[0]][0], Fields: v.fields}
}

// Merge adds the field problems of an EINVALID error to v: the field whose
// problem is the error's message first, then the others in name order, so
// the combined message is deterministic. Other errors are added under
// "request". A nil err adds nothing.
func (v *ValidationErrors) Merge(err error) {
	if err == nil {
		return
	}
	e, ok := AsError(err)
	if !ok || len(e.Fields) == 0 {
		v.Add("request", "%s", ErrorMessage(err))
		return
	}
	names := make([]string, 0, len(e.Fields))
	for name, msgs := range e.Fields {
		if len(msgs) > 0 && msgs[0] == e.Message {
			names = append([]string{name}, names...)
		} else {
			names = append(names, name)
		}
	}
	if len(names) > 1 {
		slices.Sort(names[1:])
	}
	for _, name := range names {
		for _, m := range e.Fields[name] {
			v.Add(name, "%s", m)
		}
	}
}
