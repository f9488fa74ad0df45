package mcptool

import (
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
)

// httpTransport returns the streamable HTTP transport of srv, whose
// requests carry srv.Headers, secrets filled in.
func httpTransport(srv tessera.MCPServer, secrets map[string]string, client *http.Client) (mcp.Transport, error) {
	headers, err := fillSecrets(srv.Name, srv.Headers, secrets)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(srv.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tessera.Errorf(tessera.EINVALID, "MCP server %q: the url must be an absolute http or https URL.", srv.Name)
	}
	if len(headers) > 0 {
		h := make(http.Header, len(headers))
		for k, v := range headers {
			h.Set(k, v)
		}
		withHeaders := *client
		base := client.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		withHeaders.Transport = &headerTransport{base: base, scheme: u.Scheme, host: u.Host, header: h}
		client = &withHeaders
	}
	return &mcp.StreamableClientTransport{
		Endpoint:   srv.URL,
		HTTPClient: client,
		// The standalone SSE stream carries only what the server starts
		// (list-changed notifications, say), which a Toolbox does not use;
		// without it no request hangs for the session's life, and a proxy
		// cutting it cannot fail the session.
		DisableStandaloneSSE: true,
	}, nil
}

// headerTransport adds the declared headers to the requests for the
// server's own scheme and host. A redirect elsewhere gets none, since the
// headers usually hold credentials.
type headerTransport struct {
	base         http.RoundTripper
	scheme, host string
	header       http.Header
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || req.URL.Host != t.host {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context()) // a RoundTripper must not change its request
	for k, v := range t.header {
		// The SDK's own headers (session id, protocol version, content
		// type) win: a declaration cannot break the protocol.
		if _, set := req.Header[k]; !set {
			req.Header[k] = v
		}
	}
	return t.base.RoundTrip(req)
}

// stdioTransport returns the transport that runs srv.Command with a
// minimal environment (see baseEnv) plus the server's own, secrets filled
// in. It returns an
// EINVALID error when opts do not allow the command.
func stdioTransport(srv tessera.MCPServer, secrets map[string]string, opts Options) (mcp.Transport, *exec.Cmd, error) {
	program := srv.Command[0]
	switch {
	case !opts.AllowStdio:
		return nil, nil, tessera.Errorf(tessera.EINVALID, "MCP server %q: stdio servers (command) are disabled on this Tessera server; use a streamable HTTP url.", srv.Name)
	case len(opts.AllowedCommands) > 0 && !slices.Contains(opts.AllowedCommands, program):
		return nil, nil, tessera.Errorf(tessera.EINVALID, "MCP server %q: the command %q is not allowed; the allowed commands are: %s.", srv.Name, program, strings.Join(opts.AllowedCommands, ", "))
	}
	env, err := fillSecrets(srv.Name, srv.Env, secrets)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(program, srv.Command[1:]...)
	cmd.Env = baseEnv()
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k]) // a later entry wins
	}
	// Stderr stays nil (discarded): the server's logs may echo its secrets.
	ownProcessGroup(cmd)
	// The SDK starts the process on Connect and ends it on Close: it closes
	// stdin, waits, then sends SIGTERM and finally SIGKILL.
	return &mcp.CommandTransport{Command: cmd}, cmd, nil
}

// inheritedEnv are the variables a stdio server gets from Tessera's own
// environment: enough to find programs and behave like a normal process.
// The rest (database URLs, provider keys, the admin token) stays ours;
// what a server needs is given in its declaration's env.
var inheritedEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT", "TEMP", "TMP"}

func baseEnv() []string {
	var env []string
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
