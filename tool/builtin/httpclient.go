package builtin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// HTTPConfig configures the guarded client of http_request and web_fetch.
type HTTPConfig struct {
	// Timeout bounds a whole request, body included. Default 15s.
	Timeout time.Duration
	// MaxResponseBytes caps how much of a body is read; the rest is
	// dropped and the result marked truncated. Default 1 MiB.
	MaxResponseBytes int64
	// MaxRedirects is how many redirects are followed. 0 means the default,
	// 5; a negative value follows none (the 3xx response is returned).
	MaxRedirects int
	// Allow lists what the SSRF guard lets through although it is not
	// public: CIDRs ("10.0.0.0/8"), IPs ("127.0.0.1"), host names
	// ("wiki.intranet") and either with a port ("127.0.0.1:8080").
	// Host names are matched against the URL's host and resolved when
	// dialled; CIDRs and IPs against the address actually dialled.
	Allow []string
	// UserAgent is sent when a request sets none. Default "Tessera/1.0".
	UserAgent string
}

// Defaults of HTTPConfig.
const (
	DefaultHTTPTimeout      = 15 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultMaxRedirects     = 5
	DefaultUserAgent        = "Tessera/1.0 (+https://github.com/tessera-run/tessera)"
)

// WithDefaults returns c with zero fields set to their defaults.
func (c HTTPConfig) WithDefaults() HTTPConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultHTTPTimeout
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = DefaultMaxRedirects
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// NewHTTPClient returns an *http.Client whose every connection, redirects
// included, goes through the SSRF guard (see the package comment). It
// ignores proxy environment variables, since a proxy would make the guard
// check the proxy's address instead of the target's. It returns an
// EINVALID error for a malformed Allow entry.
func NewHTTPClient(cfg HTTPConfig) (*http.Client, error) {
	cfg = cfg.WithDefaults()
	g, err := newGuard(cfg.Allow, net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            g.dialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  cfg.Timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     &userAgent{next: transport, ua: cfg.UserAgent},
		Timeout:       cfg.Timeout,
		CheckRedirect: checkRedirect(cfg.MaxRedirects),
	}, nil
}

type userAgent struct {
	next http.RoundTripper
	ua   string
}

func (u *userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", u.ua)
	}
	return u.next.RoundTrip(req)
}

// checkRedirect bounds redirects and refuses schemes other than http(s);
// the address of each hop is checked by the dialer like any other.
func checkRedirect(max int) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if max < 0 {
			return http.ErrUseLastResponse
		}
		if len(via) > max {
			return fmt.Errorf("stopped after %d redirects", max)
		}
		return checkURL(req.URL)
	}
}

// parseURL parses a URL the model gave and checks it is absolute http(s).
func parseURL(raw string) (*url.URL, error) {
	if err := requireString("url", raw); err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid url %q", raw)
	}
	return u, checkURL(u)
}

func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q must be an absolute http or https URL", u.Redacted())
	}
	if u.Hostname() == "" {
		return fmt.Errorf("url %q has no host", u.Redacted())
	}
	return nil
}

// readBody reads at most max bytes and reports whether there was more.
func readBody(r io.Reader, max int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// requestError rewrites a client error for the model: the guard's refusal
// and timeouts plainly, other failures with net/http's own text.
func requestError(method string, u *url.URL, err error, timeout time.Duration) error {
	prefix := method + " " + u.Redacted()
	var refused *RefusedError
	var urlErr *url.Error
	switch {
	case errors.As(err, &refused):
		return fmt.Errorf("%s: %w", prefix, refused)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: cancelled", prefix)
	case errors.As(err, &urlErr) && urlErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: timed out after %s", prefix, timeout)
	case errors.As(err, &urlErr):
		return fmt.Errorf("%s: %v", prefix, urlErr.Err)
	default:
		return fmt.Errorf("%s: %v", prefix, err)
	}
}
