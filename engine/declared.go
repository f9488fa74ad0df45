package engine

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/httptool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// mcpToolPrefix names a declared MCP server in an execution's tools:
// "mcp:<server>" stands for every tool the server offers (within its
// allow-list).
const mcpToolPrefix = "mcp:"

var mcpToolRE = regexp.MustCompile(`^mcp:[a-z0-9][a-z0-9_-]{0,29}$`)

// declarations are the tools an agent and its instance declare for
// themselves; an instance's replace the agent's of the same name.
type declarations struct {
	http []tessera.HTTPTool
	mcp  []tessera.MCPServer
}

func declared(agent *tessera.Agent, inst *tessera.Instance) declarations {
	d := declarations{http: agent.HTTPTools, mcp: agent.MCPServers}
	if inst != nil {
		d.http = tessera.MergeHTTPTools(d.http, inst.Config.HTTPTools)
		d.mcp = tessera.MergeMCPServers(d.mcp, inst.Config.MCPServers)
	}
	return d
}

// ownTools is the agent's own tool set: its tool names (the instance's
// when it sets some), then every declared HTTP tool and MCP server.
func ownTools(agent *tessera.Agent, inst *tessera.Instance) []string {
	base := agent.Tools
	if inst != nil && len(inst.Config.Tools) > 0 {
		base = inst.Config.Tools
	}
	names := toolNames(strings.Join(base, ","))
	d := declared(agent, inst)
	for _, t := range d.http {
		names = append(names, t.Name)
	}
	for _, s := range d.mcp {
		names = append(names, mcpToolPrefix+s.Name)
	}
	return dedupe(names)
}

func dedupe(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// toolPlan is an execution's tool names sorted by where each tool comes
// from.
type toolPlan struct {
	builtin []string
	agents  []string
	http    []tessera.HTTPTool
	mcp     []tessera.MCPServer
}

// plan sorts names. A declared tool's name wins over a built-in's (the
// definition checks forbid the clash, so this only matters for names the
// server gained later). "mcp:<server>" must name a declared server and
// "agent:<slug>" must have the form of a slug; built-in names are checked
// by the resolver.
func (e *Engine) plan(names []string, d declarations) (toolPlan, error) {
	var p toolPlan
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, agentToolPrefix):
			if !agentToolRE.MatchString(n) {
				return p, tessera.Errorf(tessera.EINVALID, "The agent tool %q must be agent:<slug>.", n)
			}
			p.agents = append(p.agents, n)
		case strings.HasPrefix(n, mcpToolPrefix):
			i := slices.IndexFunc(d.mcp, func(s tessera.MCPServer) bool { return mcpToolPrefix+s.Name == n })
			if !mcpToolRE.MatchString(n) || i < 0 {
				return p, tessera.Errorf(tessera.EINVALID, "The MCP tool %q names no MCP server of this agent.", n)
			}
			p.mcp = append(p.mcp, d.mcp[i])
		default:
			if i := slices.IndexFunc(d.http, func(t tessera.HTTPTool) bool { return t.Name == n }); i >= 0 {
				p.http = append(p.http, d.http[i])
				continue
			}
			p.builtin = append(p.builtin, n)
		}
	}
	if _, err := e.resolveTools(p.builtin); err != nil {
		return p, err
	}
	return p, nil
}

// builtTools are the tools of one run and what must be released after it.
type builtTools struct {
	tools []tool.Tool
	boxes []*mcptool.Toolbox
}

func (b *builtTools) close() {
	for _, box := range b.boxes {
		_ = box.Close() // the run is over; a server that fails to close has nothing left to give
	}
}

// buildTools makes the tools of a run. MCP servers are connected now, one
// session per run: their tool lists may change between runs, and their
// credentials belong to the instance. The caller must close the result.
func (e *Engine) buildTools(ctx context.Context, ex *tessera.Execution, p toolPlan, secrets map[string]string, acc *rollup) (*builtTools, error) {
	b := &builtTools{}
	tools, err := e.resolveTools(p.builtin)
	if err != nil {
		return b, err
	}
	b.tools = tools
	sub, err := e.agentTools(ctx, ex, p.agents, acc)
	if err != nil {
		return b, err
	}
	b.tools = append(b.tools, sub...)
	if len(p.http) > 0 && e.cfg.HTTPTools.Client == nil {
		return b, tessera.Errorf(tessera.EINVALID, "HTTP tools are not available on this server.")
	}
	for _, def := range p.http {
		t, err := httptool.New(def, secrets, e.cfg.HTTPTools)
		if err != nil {
			return b, err
		}
		b.tools = append(b.tools, t)
	}
	if len(p.mcp) > 0 {
		box, err := mcptool.Open(ctx, p.mcp, secrets, e.cfg.MCP)
		if err != nil {
			return b, err
		}
		b.boxes = append(b.boxes, box)
		b.tools = append(b.tools, box.Tools()...)
	}
	// One set checks that no two tools share a name: the model calls them
	// by name.
	if _, err := tool.NewSet(b.tools...); err != nil {
		return b, err
	}
	return b, nil
}

// CheckAgent checks what an agent definition refers to beyond its own
// fields: its tool names, its declared tools against the built-ins, and
// its output_schema. The error is EINVALID, per field.
func (e *Engine) CheckAgent(a *tessera.Agent) error {
	var v tessera.ValidationErrors
	d := declared(a, nil)
	e.checkDeclared(&v, "http_tools", d.http)
	if _, err := e.plan(toolNames(strings.Join(a.Tools, ",")), d); err != nil {
		v.Add("tools", "%s", tessera.ErrorMessage(err))
	}
	if len(a.OutputSchema) > 0 {
		if _, err := compileSchema(a.OutputSchema); err != nil {
			v.Add("output_schema", "%s", tessera.ErrorMessage(err))
		}
	}
	for i, name := range a.FallbackModels {
		if _, err := e.cfg.Registry.Resolve(name); err != nil || strings.TrimSpace(name) == "" {
			v.Add(fmt.Sprintf("fallback_models.%d", i), "The fallback model %q is not available.", name)
		}
	}
	return v.Err()
}

// CheckInstance checks an instance's overrides against its agent: tool
// names (which may name the agent's declared tools) and declared tools.
func (e *Engine) CheckInstance(agent *tessera.Agent, in *tessera.Instance) error {
	var v tessera.ValidationErrors
	v.Merge(in.Config.Validate())
	d := declared(agent, in)
	e.checkDeclared(&v, "config.http_tools", in.Config.HTTPTools)
	if _, err := e.plan(toolNames(strings.Join(in.Config.Tools, ",")), d); err != nil {
		v.Add("config.tools", "%s", tessera.ErrorMessage(err))
	}
	return v.Err()
}

// checkDeclared refuses HTTP tools named like a built-in tool (the model
// could not tell them apart) and runs the template checks of httptool.New
// (placeholders, where secrets may go, a JSON body) at definition time, with
// stand-ins for the secrets, which belong to instances.
func (e *Engine) checkDeclared(v *tessera.ValidationErrors, field string, tools []tessera.HTTPTool) {
	for i, t := range tools {
		f := fmt.Sprintf("%s.%d", field, i)
		if e.cfg.Tools != nil {
			if _, err := e.cfg.Tools.Resolve([]string{t.Name}); err == nil {
				v.Add(f+".name", "The tool name %q is a built-in tool.", t.Name)
			}
		}
		standIns := map[string]string{}
		for _, s := range []string{t.URL, t.Body} {
			for _, name := range tessera.SecretRefs(s) {
				standIns[name] = "x"
			}
		}
		for _, h := range t.Headers {
			for _, name := range tessera.SecretRefs(h) {
				standIns[name] = "x"
			}
		}
		if _, err := httptool.New(t, standIns, httptool.Config{Client: http.DefaultClient}); err != nil {
			v.Add(f, "%s", tessera.ErrorMessage(err))
		}
	}
}
