package builtin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/builtin"
)

// testSite serves the pages the HTTP tool tests fetch.
func testSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello from the test site")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Hidden", "not shown")
		w.Header().Set("ETag", `"v1"`)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"method":%q,"auth":%q,"ua":%q,"body":%q}`, r.Method, r.Header.Get("Authorization"), r.UserAgent(), body)
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<html><head><title>Test page</title><script>alert(1)</script></head>
<body><nav><a href="/">Home</a></nav><h1>Welcome</h1><p>Read <a href="/text">the text</a>.</p></body></html>`)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("0123456789", 100))
	})
	mux.HandleFunc("/png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"))
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	})
	return mux
}

func newSite(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(testSite())
	t.Cleanup(s.Close)
	return s
}

// hostPort is the server's "127.0.0.1:port", the narrowest allow entry.
func hostPort(s *httptest.Server) string { return s.Listener.Addr().String() }

// httpTools returns http_request and web_fetch sharing a client built from cfg.
func httpTools(t *testing.T, cfg builtin.HTTPConfig) (request, fetch tool.Tool) {
	t.Helper()
	client, err := builtin.NewHTTPClient(cfg)
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	return builtin.NewHTTPRequest(client, cfg), builtin.NewWebFetch(client, cfg)
}

func TestHTTPGuardRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, fetch := httpTools(t, builtin.HTTPConfig{})
	want := "refused: 127.0.0.1 is a loopback address; add it to tools.http.allow to permit it"
	for _, tl := range []tool.Tool{request, fetch} {
		_, err := callErr(t, tl, map[string]string{"url": site.URL + "/text"})
		wantError(t, err, want)
	}
}

func TestHTTPGuardRefusesLocalhostAfterDNS(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, _ := httpTools(t, builtin.HTTPConfig{})
	url := strings.Replace(site.URL, "127.0.0.1", "localhost", 1)
	_, err := callErr(t, request, map[string]string{"url": url + "/text"})
	wantError(t, err, "is a loopback address")
}

func TestHTTPGuardAllowList(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	tests := []struct{ name, allow, host string }{
		{"ip", "127.0.0.1", "127.0.0.1"},
		{"cidr", "127.0.0.0/8", "127.0.0.1"},
		{"ip and port", hostPort(site), "127.0.0.1"},
		{"host name", "localhost", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			request, _ := httpTools(t, builtin.HTTPConfig{Allow: []string{tt.allow}})
			url := strings.Replace(site.URL, "127.0.0.1", tt.host, 1) + "/text"
			res := call(t, request, map[string]string{"url": url})
			wantContains(t, res.Content, "HTTP 200 OK", "hello from the test site")
		})
	}
}

func TestHTTPGuardAllowedPortOnly(t *testing.T) {
	t.Parallel()

	site, other := newSite(t), newSite(t)
	request, _ := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}})
	_, err := callErr(t, request, map[string]string{"url": other.URL + "/text"})
	wantError(t, err, "refused: 127.0.0.1 is a loopback address")
}

func TestHTTPGuardHostNameDoesNotAllowItsIP(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, _ := httpTools(t, builtin.HTTPConfig{Allow: []string{"localhost"}})
	_, err := callErr(t, request, map[string]string{"url": site.URL + "/text"})
	wantError(t, err, "refused: 127.0.0.1")
}

func TestHTTPRedirectToLoopback(t *testing.T) {
	t.Parallel()

	site, target := newSite(t), newSite(t)
	redirect := site.URL + "/redirect?to=" + target.URL + "/text"

	t.Run("refused unless allowed", func(t *testing.T) {
		t.Parallel()
		_, fetch := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}})
		_, err := callErr(t, fetch, map[string]string{"url": redirect})
		wantError(t, err, "refused: 127.0.0.1 is a loopback address")
	})
	t.Run("followed when allowed", func(t *testing.T) {
		t.Parallel()
		_, fetch := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site), hostPort(target)}})
		res := call(t, fetch, map[string]string{"url": redirect})
		wantContains(t, res.Content, "URL: "+target.URL+"/text", "hello from the test site")
	})
}

func TestHTTPRedirectLimits(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	allow := []string{hostPort(site)}

	request, _ := httpTools(t, builtin.HTTPConfig{Allow: allow, MaxRedirects: 3})
	_, err := callErr(t, request, map[string]string{"url": site.URL + "/loop"})
	wantError(t, err, "stopped after 3 redirects")

	request, _ = httpTools(t, builtin.HTTPConfig{Allow: allow, MaxRedirects: -1})
	res := call(t, request, map[string]string{"url": site.URL + "/loop"})
	wantContains(t, res.Content, "HTTP 302 Found", "Location: /loop")

	request, _ = httpTools(t, builtin.HTTPConfig{Allow: allow})
	_, err = callErr(t, request, map[string]string{"url": site.URL + "/redirect?to=file:///etc/passwd"})
	wantError(t, err, "must be an absolute http or https URL")
}

func TestHTTPRequest(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, _ := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}, UserAgent: "tessera-test"})
	res := call(t, request, map[string]any{
		"method":  "post",
		"url":     site.URL + "/echo",
		"headers": map[string]string{"Authorization": "Bearer t0k"},
		"body":    `{"q":1}`,
	})
	wantContains(t, res.Content,
		"HTTP 201 Created\n", "Content-Type: application/json\n", `ETag: "v1"`,
		`{"method":"POST","auth":"Bearer t0k","ua":"tessera-test","body":"{\"q\":1}"}`)
	if strings.Contains(res.Content, "X-Hidden") {
		t.Errorf("unselected header shown:\n%s", res.Content)
	}

	head := call(t, request, map[string]string{"method": "HEAD", "url": site.URL + "/text"})
	wantContains(t, head.Content, "HTTP 200 OK", "Content-Type: text/plain")

	png := call(t, request, map[string]string{"url": site.URL + "/png"})
	wantContains(t, png.Content, "[16 bytes of binary content (image/png) not shown]")
}

func TestHTTPRequestArgumentErrors(t *testing.T) {
	t.Parallel()

	request, _ := httpTools(t, builtin.HTTPConfig{})
	for args, want := range map[string]string{
		`{}`:                            "url is required",
		`{"url": "example.com/page"}`:   "must be an absolute http or https URL",
		`{"url": "ftp://example.com/"}`: "must be an absolute http or https URL",
		`{"url": "http:///path"}`:       "has no host",
		`{"url": "https://x.io", "method": "TRACE"}`: `method "TRACE" is not one of GET, POST, PUT, PATCH, DELETE, HEAD`,
		`{"url": "https://x.io", "headers": ["a"]}`:  "headers must be an object, not array",
		`{"url": "https://x.io", "timeout": 5}`:      `unknown field "timeout"`,
	} {
		_, err := callErr(t, request, args)
		wantError(t, err, want)
	}
}

func TestHTTPSizeLimit(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, fetch := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}, MaxResponseBytes: 100})
	for _, tl := range []tool.Tool{request, fetch} {
		res := call(t, tl, map[string]string{"url": site.URL + "/big"})
		if !res.Truncated {
			t.Errorf("%s: Truncated = false", tl.Name())
		}
		wantContains(t, res.Content, strings.Repeat("0123456789", 10)+"\n[", "truncated at 100 bytes]")
		if strings.Contains(res.Content, strings.Repeat("0123456789", 11)) {
			t.Errorf("%s: more than 100 bytes of body shown", tl.Name())
		}
	}
}

func TestHTTPTimeout(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	request, fetch := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}, Timeout: 50 * time.Millisecond})
	for _, tl := range []tool.Tool{request, fetch} {
		_, err := callErr(t, tl, map[string]string{"url": site.URL + "/hang"})
		wantError(t, err, "timed out after 50ms")
	}
}

func TestWebFetch(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	_, fetch := httpTools(t, builtin.HTTPConfig{Allow: []string{hostPort(site)}})

	page := call(t, fetch, map[string]string{"url": site.URL + "/page"}).Content
	want := "Title: Test page\nURL: " + site.URL + "/page\n\n# Welcome\n\nRead the text (" + site.URL + "/text)."
	if page != want {
		t.Errorf("web_fetch page =\n%s\nwant\n%s", page, want)
	}

	text := call(t, fetch, map[string]string{"url": site.URL + "/text"}).Content
	wantContains(t, text, "URL: "+site.URL+"/text\n\nhello from the test site")

	_, err := callErr(t, fetch, map[string]string{"url": site.URL + "/png"})
	wantError(t, err, "the response is image/png, which web_fetch cannot read")

	_, err = callErr(t, fetch, map[string]string{"url": site.URL + "/missing"})
	wantError(t, err, "HTTP 404 Not Found")
}

func TestNewHTTPClientRejectsBadAllow(t *testing.T) {
	t.Parallel()

	_, err := builtin.NewHTTPClient(builtin.HTTPConfig{Allow: []string{"http://intranet"}})
	if tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("NewHTTPClient error = %v, want EINVALID", err)
	}
}

// TestHTTPThroughInvoke checks that a refusal reaches the model as an
// ordinary error observation.
func TestHTTPThroughInvoke(t *testing.T) {
	t.Parallel()

	site := newSite(t)
	_, fetch := httpTools(t, builtin.HTTPConfig{})
	obs := tool.Invoke(t.Context(), fetch, []byte(`{"url":"`+site.URL+`"}`), time.Minute, 4096)
	if !obs.IsError || !strings.HasPrefix(obs.Content, "Error: GET "+site.URL+": refused: 127.0.0.1 is a loopback address") {
		t.Errorf("observation = %+v", obs)
	}
}
