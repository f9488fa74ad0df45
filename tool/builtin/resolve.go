package builtin

import (
	"slices"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// Resolver turns tool names, as agents and requests write them, into
// tools: a Tess tools value ("internet", "wikipedia", "no-tools", …) or the
// name of one built-in tool ("calculator", "current_time", "http_request",
// "web_fetch", "web_search").
type Resolver struct {
	Deps Deps
}

// Resolve returns the union of the tools names stands for, in order,
// without repeats. An unknown name is an EINVALID error listing the valid
// ones.
func (r Resolver) Resolve(names []string) ([]tool.Tool, error) {
	all, err := All(r.Deps)
	if err != nil {
		return nil, err
	}
	var out []tool.Tool
	seen := map[string]bool{}
	add := func(ts ...tool.Tool) {
		for _, t := range ts {
			if !seen[t.Name()] {
				seen[t.Name()] = true
				out = append(out, t)
			}
		}
	}
	for _, raw := range names {
		name := strings.ToLower(strings.TrimSpace(raw))
		if i := slices.IndexFunc(all, func(t tool.Tool) bool { return t.Name() == name }); i >= 0 {
			add(all[i])
			continue
		}
		if !slices.Contains(TessToolSetNames(), name) && name != "" {
			return nil, tessera.Errorf(tessera.EINVALID, "The tool %q does not exist: use %s.", raw, strings.Join(r.Names(), ", "))
		}
		set, err := TessToolSet(name, r.Deps)
		if err != nil {
			return nil, err
		}
		add(set...)
	}
	return out, nil
}

// Names lists every name Resolve accepts.
func (r Resolver) Names() []string {
	names := []string{"calculator", "current_time", "http_request", "web_fetch", "web_search"}
	return append(names, TessToolSetNames()...)
}
