package httptool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// arguments are the model's arguments, each kept as raw JSON.
type arguments map[string]json.RawMessage

func decodeArgs(raw json.RawMessage) (arguments, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return arguments{}, nil
	}
	var args arguments
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &args) != nil {
		return nil, errors.New("invalid arguments: expected one JSON object")
	}
	return args, nil
}

// text is an argument as plain text: a string as is, another value as
// compact JSON, a missing or null one as "".
func (a arguments) text(name string) string {
	raw, ok := a[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil { // null leaves s empty
		return s
	}
	return compact(raw)
}

// json is an argument as compact JSON, a missing one as null.
func (a arguments) json(name string) string {
	raw, ok := a[name]
	if !ok {
		return "null"
	}
	return compact(raw)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func (t *httpTool) newRequest(ctx context.Context, args arguments) (*http.Request, error) {
	u, err := t.buildURL(args)
	if err != nil {
		return nil, err
	}
	body := t.buildBody(args)
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, t.method, u.String(), r)
	if err != nil {
		return nil, errors.New("the request could not be built from the arguments")
	}
	if err := t.setHeaders(req, args); err != nil {
		return nil, err
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (t *httpTool) buildURL(args arguments) (*url.URL, error) {
	raw, err := t.url.render(func(p part) (string, error) {
		if p.secret != "" { // only in the query: parseURLTemplate saw to it
			return url.QueryEscape(t.secrets[p.secret]), nil
		}
		v := args.text(p.arg)
		if p.inQuery {
			return url.QueryEscape(v), nil
		}
		if v == "." || v == ".." {
			return "", fmt.Errorf("invalid arguments: %s may not be %q, which would change the URL's path", p.arg, v)
		}
		return url.PathEscape(v), nil
	})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil { // its text holds the URL, secrets and all
		return nil, errors.New("the arguments do not make a valid URL")
	}
	return u, nil
}

// buildBody fills the body template, or returns the arguments themselves
// for a POST, PUT or PATCH without one.
func (t *httpTool) buildBody(args arguments) string {
	if t.body == nil {
		switch t.method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			b, _ := json.Marshal(args) // cannot fail: the values are valid JSON
			return string(b)
		}
		return ""
	}
	body, _ := t.body.render(func(p part) (string, error) { return args.json(p.arg), nil })
	return body
}

func (t *httpTool) setHeaders(req *http.Request, args arguments) error {
	for _, h := range t.headers {
		v, _ := h.value.render(func(p part) (string, error) {
			if p.secret != "" {
				return t.secrets[p.secret], nil
			}
			return args.text(p.arg), nil
		})
		if strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("invalid arguments: header %s cannot hold a line break; remove it from the arguments", h.name)
		}
		if strings.EqualFold(h.name, "Host") {
			req.Host = v // net/http ignores a Host header
			continue
		}
		req.Header.Set(h.name, v)
	}
	return nil
}
