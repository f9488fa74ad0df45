package tessera_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
)

// fieldsOf returns the field names of an EINVALID error, sorted.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	e, ok := tessera.AsError(err)
	if !ok || e.Code != tessera.EINVALID {
		t.Fatalf("error = %v, want EINVALID", err)
	}
	var names []string
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func TestAgentValidatesDeclaredTools(t *testing.T) {
	t.Parallel()
	ok := tessera.Agent{Title: "x",
		HTTPTools: []tessera.HTTPTool{{Name: "lookup", Description: "d", URL: "https://api.example.com/o/{{id}}?k={{secret.k}}"}},
		MCPServers: []tessera.MCPServer{
			{Name: "docs", URL: "https://mcp.example.com/mcp"},
			{Name: "local", Command: []string{"srv", "--stdio"}},
		},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid agent: %v", err)
	}
	if ok.HTTPTools[0].Method != "GET" {
		t.Errorf("method default = %q, want GET", ok.HTTPTools[0].Method)
	}

	for name, tc := range map[string]struct {
		agent tessera.Agent
		field string
	}{
		"bad tool name":     {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a b", Description: "d", URL: "https://x.example/"}}}, "http_tools.0.name"},
		"mcp separator":     {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a__b", Description: "d", URL: "https://x.example/"}}}, "http_tools.0.name"},
		"no description":    {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", URL: "https://x.example/"}}}, "http_tools.0.description"},
		"bad method":        {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", Method: "TRACE", URL: "https://x.example/"}}}, "http_tools.0.method"},
		"relative url":      {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", URL: "/orders"}}}, "http_tools.0.url"},
		"templated host":    {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", URL: "https://{{h}}.example/"}}}, "http_tools.0.url"},
		"secret in body":    {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", Method: "POST", URL: "https://x.example/", Body: `{"k":"{{secret.k}}"}`}}}, "http_tools.0.body"},
		"body on GET":       {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", URL: "https://x.example/", Body: `{}`}}}, "http_tools.0.body"},
		"schema not object": {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", URL: "https://x.example/", Parameters: []byte(`[1]`)}}}, "http_tools.0.parameters"},
		"bad header":        {tessera.Agent{HTTPTools: []tessera.HTTPTool{{Name: "a", Description: "d", URL: "https://x.example/", Headers: map[string]string{"Bad Header": "v"}}}}, "http_tools.0.headers"},
		"duplicate tool": {tessera.Agent{HTTPTools: []tessera.HTTPTool{
			{Name: "a", Description: "d", URL: "https://x.example/"}, {Name: "a", Description: "d", URL: "https://x.example/"},
		}}, "http_tools.1.name"},
		"server name":          {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "Docs", URL: "https://x.example/"}}}, "mcp_servers.0.name"},
		"server both":          {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "d", URL: "https://x.example/", Command: []string{"x"}}}}, "mcp_servers.0"},
		"server neither":       {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "d"}}}, "mcp_servers.0"},
		"server url":           {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "d", URL: "ftp://x.example/"}}}, "mcp_servers.0.url"},
		"server empty program": {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "d", Command: []string{" "}}}}, "mcp_servers.0.command"},
		"server duplicate":     {tessera.Agent{MCPServers: []tessera.MCPServer{{Name: "d", URL: "https://x.example/"}, {Name: "d", URL: "https://y.example/"}}}, "mcp_servers.1.name"},
		"output schema":        {tessera.Agent{OutputSchema: []byte(`"string"`)}, "output_schema"},
	} {
		a := tc.agent
		a.Title = "x"
		if fields := fieldsOf(t, a.Validate()); !slices.Contains(fields, tc.field) {
			t.Errorf("%s: fields = %v, want %s", name, fields, tc.field)
		}
	}
}

func TestInstanceConfigValidatesDeclaredTools(t *testing.T) {
	t.Parallel()
	c := tessera.InstanceConfig{HTTPTools: []tessera.HTTPTool{{Name: "a", URL: "https://x.example/"}}}
	if fields := fieldsOf(t, c.Validate()); !slices.Equal(fields, []string{"config.http_tools.0.description"}) {
		t.Errorf("fields = %v", fields)
	}
	if err := (&tessera.InstanceConfig{}).Validate(); err != nil {
		t.Errorf("an empty config: %v", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	s := "Bearer {{secret.token}} {{ secret.other }} {{secret.token}} {{arg}}"
	if refs := tessera.SecretRefs(s); !slices.Equal(refs, []string{"token", "other"}) {
		t.Errorf("SecretRefs = %v", refs)
	}
	out, missing := tessera.ReplaceSecrets(s, map[string]string{"token": "t0k"})
	if out != "Bearer t0k  t0k {{arg}}" || !slices.Equal(missing, []string{"other"}) {
		t.Errorf("ReplaceSecrets = %q, missing %v", out, missing)
	}
}

func TestMergeDeclaredTools(t *testing.T) {
	t.Parallel()
	base := []tessera.HTTPTool{{Name: "a", URL: "https://a.example/"}, {Name: "b", URL: "https://b.example/"}}
	got := tessera.MergeHTTPTools(base, []tessera.HTTPTool{{Name: "b", URL: "https://override.example/"}, {Name: "c"}})
	if len(got) != 3 || got[1].URL != "https://override.example/" || got[2].Name != "c" || base[1].URL != "https://b.example/" {
		t.Errorf("MergeHTTPTools = %+v (base %+v)", got, base)
	}
	servers := tessera.MergeMCPServers([]tessera.MCPServer{{Name: "m", URL: "https://m.example/"}}, []tessera.MCPServer{{Name: "m", URL: "https://n.example/"}})
	if len(servers) != 1 || servers[0].URL != "https://n.example/" {
		t.Errorf("MergeMCPServers = %+v", servers)
	}
}

func TestMergeNilAddsNothing(t *testing.T) {
	t.Parallel()
	var v tessera.ValidationErrors
	v.Merge(nil)
	if !v.Empty() || v.Err() != nil {
		t.Errorf("Merge(nil) added %v", v.Err())
	}
	v.Merge(tessera.Errorf(tessera.EINVALID, "boom"))
	if v.Empty() || !strings.Contains(tessera.ErrorMessage(v.Err()), "boom") {
		t.Errorf("Merge of a plain error = %v", v.Err())
	}
}
