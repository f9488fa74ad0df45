package httptool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// redacted replaces a secret in what the model sees.
const redacted = "[secret]"

// scrubber replaces secret values, in the forms a server or an error may
// show them, with redacted.
type scrubber struct {
	forms    []string // longest first
	replacer *strings.Replacer
}

func newScrubber(values []string) *scrubber {
	var forms []string
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, f := range secretForms(v) {
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	// Longest first, so that a form containing another is replaced whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, redacted)
	}
	return &scrubber{forms: forms, replacer: strings.NewReplacer(pairs...)}
}

// secretForms are v raw, percent-escaped and escaped in a JSON string.
func secretForms(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		_ = enc.Encode(v) // cannot fail for a string
		forms = append(forms, strings.TrimSuffix(strings.TrimSpace(b.String()), `"`)[1:])
	}
	return forms
}

func (s *scrubber) text(x string) string { return s.replacer.Replace(x) }

func (s *scrubber) error(err error) error { return errors.New(s.text(err.Error())) }

// longest is the length of the longest form, 0 without secrets.
func (s *scrubber) longest() int {
	if len(s.forms) == 0 {
		return 0
	}
	return len(s.forms[0])
}

// extendCut moves the cut n of b past any secret form that straddles it,
// so that the form is scrubbed whole instead of shown in part.
func (s *scrubber) extendCut(b []byte, n int) int {
	for moved := true; moved; {
		moved = false
		for _, f := range s.forms {
			start := max(0, n-len(f)+1)
			i := bytes.Index(b[start:], []byte(f))
			if i >= 0 && start+i < n && start+i+len(f) > n && start+i+len(f) <= len(b) {
				n, moved = start+i+len(f), true
			}
		}
	}
	return n
}

// requestError rewrites a client error for the model. It names the
// request without its query, drops the *url.Error wrapper (whose text is
// the full URL) and scrubs what remains.
func (t *httpTool) requestError(ctx context.Context, req *http.Request, err error) error {
	prefix := req.Method + " " + req.URL.Scheme + "://" + req.URL.Host + req.URL.EscapedPath()
	var urlErr *url.Error
	switch {
	case errors.Is(context.Cause(ctx), errTimeout):
		return fmt.Errorf("%s: timed out after %s", prefix, t.timeout)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: timed out", prefix)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: cancelled", prefix)
	case errors.As(err, &urlErr) && urlErr.Timeout():
		return fmt.Errorf("%s: timed out", prefix)
	case errors.As(err, &urlErr):
		err = urlErr.Err
	}
	return errors.New(t.scrub.text(prefix + ": " + err.Error()))
}

// dropSecretHeadersOnRedirect returns a copy of c that removes the named
// headers from a redirect to another scheme or host (net/http removes only
// Authorization and Cookie, and keeps them across ports).
func dropSecretHeadersOnRedirect(c *http.Client, names []string) *http.Client {
	if len(names) == 0 {
		return c
	}
	next := c.CheckRedirect
	cc := *c
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			for _, n := range names {
				req.Header.Del(n)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 { // net/http's default
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}
