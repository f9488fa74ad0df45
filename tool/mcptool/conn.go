package mcptool

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
)

// dial is a checked server declaration, secrets filled in: all that is
// needed to connect. Nothing has been started yet.
type dial struct {
	server    string
	allowed   []string
	transport mcp.Transport
	cmd       *exec.Cmd // stdio only
}

// prepare checks srv (earlier are the servers before it) and builds its
// transport. It returns an EINVALID error.
func prepare(srv tessera.MCPServer, earlier []tessera.MCPServer, secrets map[string]string, opts Options) (dial, error) {
	d := dial{server: srv.Name, allowed: srv.AllowedTools}
	switch {
	case srv.Name == "":
		return d, tessera.Errorf(tessera.EINVALID, "An MCP server has no name.")
	case slices.ContainsFunc(earlier, func(e tessera.MCPServer) bool { return e.Name == srv.Name }):
		return d, tessera.Errorf(tessera.EINVALID, "The MCP server name %q is used twice.", srv.Name)
	case (srv.URL == "") == (len(srv.Command) == 0):
		return d, tessera.Errorf(tessera.EINVALID, "MCP server %q: set url (streamable HTTP) or command (stdio), not both or neither.", srv.Name)
	}
	var err error
	if srv.URL != "" {
		d.transport, err = httpTransport(srv, secrets, opts.HTTPClient)
	} else {
		d.transport, d.cmd, err = stdioTransport(srv, secrets, opts)
	}
	return d, err
}

// fillSecrets replaces the {{secret.NAME}} references in the values of m.
// It returns an EINVALID error naming the server and every missing secret.
func fillSecrets(server string, m map[string]string, secrets map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(m))
	var missing []string
	for k, v := range m {
		filled, miss := tessera.ReplaceSecrets(v, secrets)
		out[k] = filled
		missing = append(missing, miss...)
	}
	if len(missing) == 0 {
		return out, nil
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	if len(missing) == 1 {
		return nil, tessera.Errorf(tessera.EINVALID, "MCP server %q uses the secret %q, which is not set.", server, missing[0])
	}
	return nil, tessera.Errorf(tessera.EINVALID, "MCP server %q uses the secrets %q, which are not set.", server, missing)
}

// conn is the open session with one server and the tools it offers.
type conn struct {
	server  string
	session *mcp.ClientSession
	cmd     *exec.Cmd // stdio only
	tools   []*mcp.Tool
}

// connect opens the session of d and lists the server's tools, both within
// timeout. It returns an EUNAVAILABLE error when the server cannot be
// reached, initialized or listed in time, and an EINVALID one when it lacks
// a tool of d.allowed.
//
// It returns at the deadline even when the SDK does not: closing a session
// that failed to open waits for the SDK's best-effort cancellation notice,
// which has its own 5s timeout. Such a session is closed in the background.
func connect(ctx context.Context, client *mcp.Client, d dial, timeout time.Duration) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		c   *conn
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		c, err := openSession(ctx, client, d, timeout)
		done <- outcome{c, err}
	}()
	select {
	case o := <-done:
		return o.c, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.c != nil {
				_ = o.c.close()
			}
		}()
		return nil, unavailable(ctx, d.server, timeout, ctx.Err())
	}
}

// openSession does the work of connect.
func openSession(ctx context.Context, client *mcp.Client, d dial, timeout time.Duration) (*conn, error) {
	session, err := client.Connect(ctx, d.transport, nil)
	if err != nil {
		if d.cmd != nil {
			killGroup(d.cmd) // the SDK has closed the session; sweep what the process left
		}
		return nil, unavailable(ctx, d.server, timeout, err)
	}
	c := &conn{server: d.server, session: session, cmd: d.cmd}
	tools, err := listTools(ctx, session)
	if err == nil {
		c.tools, err = allow(d.server, tools, d.allowed)
	} else {
		err = unavailable(ctx, d.server, timeout, err)
	}
	if err != nil {
		_ = c.close()
		return nil, err
	}
	return c, nil
}

// unavailable describes why server could not be used; ctx is the one
// bounded by timeout.
func unavailable(ctx context.Context, server string, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return tessera.Errorf(tessera.EUNAVAILABLE, "MCP server %q did not answer within %s.", server, timeout)
	}
	return tessera.Errorf(tessera.EUNAVAILABLE, "MCP server %q is unavailable: %v", server, err)
}

// listTools returns every tool the server offers, following pages.
func listTools(ctx context.Context, session *mcp.ClientSession) ([]*mcp.Tool, error) {
	var tools []*mcp.Tool
	for t, err := range session.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		tools = append(tools, t)
	}
	return tools, nil
}

// maxOffered bounds how many tool names an error lists.
const maxOffered = 50

// allow keeps the tools that allowed lists, in the server's order; an empty
// allowed keeps all. It returns an EINVALID error for a name the server does
// not offer, listing those it does.
func allow(server string, tools []*mcp.Tool, allowed []string) ([]*mcp.Tool, error) {
	if len(allowed) == 0 {
		return tools, nil
	}
	offered := make([]string, len(tools))
	for i, t := range tools {
		offered[i] = t.Name
	}
	for _, name := range allowed {
		if !slices.Contains(offered, name) {
			return nil, tessera.Errorf(tessera.EINVALID, "MCP server %q has no tool %q (allowed_tools); it offers: %s.", server, name, listNames(offered))
		}
	}
	return slices.DeleteFunc(slices.Clone(tools), func(t *mcp.Tool) bool { return !slices.Contains(allowed, t.Name) }), nil
}

func listNames(names []string) string {
	if len(names) == 0 {
		return "no tools"
	}
	if len(names) > maxOffered {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxOffered], ", "), len(names)-maxOffered)
	}
	return strings.Join(names, ", ")
}

// close ends the session and, for stdio, sweeps the process group.
func (c *conn) close() error {
	err := c.session.Close()
	if c.cmd != nil {
		killGroup(c.cmd)
	}
	if err != nil {
		return fmt.Errorf("closing MCP server %q: %w", c.server, err)
	}
	return nil
}
