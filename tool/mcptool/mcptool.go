package mcptool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// Options configure how servers are reached.
type Options struct {
	// HTTPClient makes the requests to streamable HTTP servers; the caller
	// guards it against SSRF. Nil means http.DefaultClient. Its Timeout, if
	// any, bounds every request, a long tool call's response included.
	HTTPClient *http.Client
	// AllowStdio is the operator's switch: stdio commands are refused
	// unless it is set.
	AllowStdio bool
	// AllowedCommands, when not empty, lists the programs (Command[0],
	// matched exactly) a stdio server may run.
	AllowedCommands []string
	// ConnectTimeout bounds connecting to one server and listing its tools.
	// Default 10s.
	ConnectTimeout time.Duration
	// ClientName and ClientVersion are reported to servers. Default
	// "tessera" and "dev".
	ClientName, ClientVersion string
	// MaxOutputBytes caps the text of one tool result. Default 64 KiB.
	MaxOutputBytes int
}

// Defaults of Options.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultClientName     = "tessera"
	DefaultClientVersion  = "dev"
	DefaultMaxOutputBytes = 64 << 10
)

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ClientName == "" {
		o.ClientName = DefaultClientName
	}
	if o.ClientVersion == "" {
		o.ClientVersion = DefaultClientVersion
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return o
}

// Toolbox holds the open sessions of one execution and the tools they
// offer. It is safe for concurrent use.
type Toolbox struct {
	conns     []*conn
	tools     []tool.Tool
	calls     *gate
	closeOnce sync.Once
	closeErr  error
}

// gate lets calls in until Close, which ends those still running and
// waits for them to return before it closes the sessions: a call the SDK
// retires while its session closes would otherwise end the session itself,
// inline.
type gate struct {
	mu      sync.Mutex
	closed  bool
	running sync.WaitGroup
	// abort is cancelled by close; it is a lifetime, not a request's context.
	abort  context.Context
	cancel context.CancelFunc
}

func newGate() *gate {
	g := &gate{}
	g.abort, g.cancel = context.WithCancel(context.Background())
	return g
}

// enter reports whether a call may start; if so, it must call leave.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.running.Add(1)
	return true
}

func (g *gate) leave() { g.running.Done() }

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.running.Wait()
}

// Open connects to every server in parallel, lists its tools, keeps those
// its AllowedTools lists (all when empty) and returns them wrapped as tools
// named "<server>__<tool>". secrets fill the {{secret.NAME}} references of
// headers and environments.
//
// Open returns an EINVALID error for a server that is misdeclared, refers
// to a secret it is not given, is a stdio command the options do not allow,
// lacks a tool its AllowedTools lists, or whose tool names collide; an
// EUNAVAILABLE error for one that cannot be reached or initialized; and
// ctx's error when ctx ends first. On error it closes whatever it opened.
func Open(ctx context.Context, servers []tessera.MCPServer, secrets map[string]string, opts Options) (*Toolbox, error) {
	opts = opts.WithDefaults()
	dials := make([]dial, len(servers))
	for i, srv := range servers {
		d, err := prepare(srv, servers[:i], secrets, opts)
		if err != nil {
			return nil, err
		}
		dials[i] = d
	}
	b := &Toolbox{calls: newGate()}
	var err error
	b.conns, err = connectAll(ctx, dials, opts)
	switch {
	case err != nil && ctx.Err() != nil:
		err = context.Cause(ctx)
	case err == nil:
		err = b.bind(opts.MaxOutputBytes)
	}
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

// connectAll connects to every server at once. It returns the connections
// made and the error of the first server, in declaration order, that
// failed: which error is reported does not depend on who answered first.
func connectAll(ctx context.Context, dials []dial, opts Options) ([]*conn, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: opts.ClientName, Version: opts.ClientVersion},
		&mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}}) // no roots, sampling or elicitation
	conns := make([]*conn, len(dials))
	errs := make([]error, len(dials))
	var wg sync.WaitGroup
	for i, d := range dials {
		wg.Go(func() { conns[i], errs[i] = connect(ctx, client, d, opts.ConnectTimeout) })
	}
	wg.Wait()
	conns = slices.DeleteFunc(conns, func(c *conn) bool { return c == nil })
	for _, err := range errs {
		if err != nil {
			return conns, err
		}
	}
	return conns, nil
}

// bind wraps the listed tools of every connection, in server order and then
// the server's order, and checks that their names are unique.
func (b *Toolbox) bind(maxOutput int) error {
	origin := map[string]string{} // tool name → "tool %q of MCP server %q"
	for _, c := range b.conns {
		for _, t := range c.tools {
			mt := newTool(c, t, b.calls, maxOutput)
			here := fmt.Sprintf("tool %q of MCP server %q", t.Name, c.server)
			if there, dup := origin[mt.name]; dup {
				return tessera.Errorf(tessera.EINVALID,
					"The %s and the %s both become the tool name %q; list only one of them in allowed_tools.", there, here, mt.name)
			}
			origin[mt.name] = here
			b.tools = append(b.tools, mt)
		}
	}
	return nil
}

// Tools returns the tools of every server, in the order of the servers and
// then of each server's list; the slice is a copy.
func (b *Toolbox) Tools() []tool.Tool { return slices.Clone(b.tools) }

// Close ends the calls still running, closes every session and, for stdio
// servers, waits for the process to exit (closing its stdin, then
// signalling it) and kills whatever it left in its process group. It
// returns the errors of the sessions that did not close cleanly; later
// calls return the same.
func (b *Toolbox) Close() error {
	b.closeOnce.Do(func() {
		b.calls.close()
		errs := make([]error, len(b.conns))
		var wg sync.WaitGroup
		for i, c := range b.conns {
			wg.Go(func() { errs[i] = c.close() })
		}
		wg.Wait()
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
