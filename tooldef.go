package tessera

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// HTTPTool is a tool declared on an agent or an instance: one HTTP call the
// model may make, with its arguments filled into URL, body and header
// templates.
//
// Templates use {{name}} for an argument and {{secret.NAME}} for a
// credential of the instance. In the URL an argument is percent-escaped;
// in the body it is written as JSON (so `{"q": {{query}}}` is valid); in a
// header as plain text. Secrets may appear in headers and the URL's query
// only, never in the body the model could have echoed back.
type HTTPTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Parameters is the JSON Schema (type object) of the arguments; nil
	// means no arguments.
	Parameters json.RawMessage   `json:"parameters,omitempty"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Body       string            `json:"body,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	// TimeoutSeconds bounds one call; 0 means the server's default.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// MCPServer is a Model Context Protocol server whose tools an agent or
// instance may call. Exactly one of URL (streamable HTTP) and Command
// (stdio, when the operator allows it) is set.
type MCPServer struct {
	// Name namespaces the server's tools: the model sees "<name>__<tool>".
	Name    string   `json:"name"`
	URL     string   `json:"url,omitempty"`
	Command []string `json:"command,omitempty"`
	// Headers are sent with every HTTP request; values may use
	// {{secret.NAME}}.
	Headers map[string]string `json:"headers,omitempty"`
	// Env is added to a stdio server's environment; values may use
	// {{secret.NAME}}.
	Env map[string]string `json:"env,omitempty"`
	// AllowedTools lists the server's tool names the model may call; empty
	// allows all.
	AllowedTools []string `json:"allowed_tools,omitempty"`
}

// Limits on declared tools.
const (
	MaxHTTPTools  = 32
	MaxMCPServers = 8
	// MCPToolSeparator joins a server's name and its tool's name.
	MCPToolSeparator = "__"
)

var (
	toolNameRE      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	mcpServerNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,29}$`)
	secretRefRE     = regexp.MustCompile(`\{\{\s*secret\.([A-Za-z0-9_.-]+)\s*\}\}`)
)

var httpToolMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

// SecretRefs returns the credential names s refers to with {{secret.NAME}}.
func SecretRefs(s string) []string {
	var out []string
	for _, m := range secretRefRE.FindAllStringSubmatch(s, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// ReplaceSecrets replaces every {{secret.NAME}} in s with its value in
// secrets, and reports the names that have none.
func ReplaceSecrets(s string, secrets map[string]string) (string, []string) {
	var missing []string
	out := secretRefRE.ReplaceAllStringFunc(s, func(m string) string {
		name := secretRefRE.FindStringSubmatch(m)[1]
		v, ok := secrets[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return out, missing
}

// validateHTTPTools checks declared HTTP tools; reserved are names the
// model already knows (the built-in tools).
func validateHTTPTools(v *ValidationErrors, field string, tools []HTTPTool, reserved []string) {
	if len(tools) > MaxHTTPTools {
		v.Add(field, "At most %d HTTP tools may be declared.", MaxHTTPTools)
		return
	}
	seen := map[string]bool{}
	for i := range tools {
		t := &tools[i]
		f := fmt.Sprintf("%s.%d", field, i)
		switch {
		case !toolNameRE.MatchString(t.Name):
			v.Add(f+".name", "The tool name must match [a-zA-Z0-9_-]{1,64}.")
		case strings.Contains(t.Name, MCPToolSeparator):
			v.Add(f+".name", "The tool name may not contain %q, which namespaces MCP tools.", MCPToolSeparator)
		case slices.Contains(reserved, strings.ToLower(t.Name)):
			v.Add(f+".name", "The tool name %q is a built-in tool.", t.Name)
		case seen[t.Name]:
			v.Add(f+".name", "The tool name %q is used twice.", t.Name)
		}
		seen[t.Name] = true
		if strings.TrimSpace(t.Description) == "" {
			v.Add(f+".description", "The description is required: the model chooses tools by it.")
		}
		t.Method = strings.ToUpper(strings.TrimSpace(t.Method))
		if t.Method == "" {
			t.Method = "GET"
		}
		if !slices.Contains(httpToolMethods, t.Method) {
			v.Add(f+".method", "The method must be one of: %s.", strings.Join(httpToolMethods, ", "))
		}
		validateTemplateURL(v, f+".url", t.URL)
		if len(SecretRefs(t.Body)) > 0 {
			v.Add(f+".body", "The body may not use {{secret.…}}: put credentials in headers.")
		}
		if t.Body != "" && (t.Method == "GET" || t.Method == "HEAD") {
			v.Add(f+".body", "A %s request has no body.", t.Method)
		}
		if len(t.Parameters) > 0 && !isJSONObject(t.Parameters) {
			v.Add(f+".parameters", "The parameters must be a JSON Schema object.")
		}
		if t.TimeoutSeconds < 0 || t.TimeoutSeconds > 600 {
			v.Add(f+".timeout_seconds", "The timeout_seconds must be between 0 (the server's default) and 600.")
		}
		for k := range t.Headers {
			if !headerNameRE.MatchString(k) {
				v.Add(f+".headers", "The header name %q is not valid.", k)
			}
		}
	}
}

var headerNameRE = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")

// validateTemplateURL checks that a URL template, placeholders set aside,
// is an absolute http(s) URL whose host is not templated (so the model
// cannot choose where a credential goes).
func validateTemplateURL(v *ValidationErrors, field, raw string) {
	if strings.TrimSpace(raw) == "" {
		v.Add(field, "The url is required.")
		return
	}
	u, err := url.Parse(placeholderRE.ReplaceAllString(raw, "x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add(field, "The url must be an absolute http or https URL.")
		return
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	if strings.Contains(scheme+host, "{{") {
		v.Add(field, "The scheme and host of the url may not use placeholders.")
	}
}

var placeholderRE = regexp.MustCompile(`\{\{[^{}]*\}\}`)

func validateMCPServers(v *ValidationErrors, field string, servers []MCPServer) {
	if len(servers) > MaxMCPServers {
		v.Add(field, "At most %d MCP servers may be listed.", MaxMCPServers)
		return
	}
	seen := map[string]bool{}
	for i := range servers {
		s := &servers[i]
		f := fmt.Sprintf("%s.%d", field, i)
		switch {
		case !mcpServerNameRE.MatchString(s.Name) || strings.Contains(s.Name, MCPToolSeparator):
			v.Add(f+".name", "The server name must be 1 to 30 lower-case letters, digits, '_' or '-' (no %q), starting with a letter or digit.", MCPToolSeparator)
		case seen[s.Name]:
			v.Add(f+".name", "The server name %q is used twice.", s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.URL != "" && len(s.Command) > 0:
			v.Add(f, "Set url (streamable HTTP) or command (stdio), not both.")
		case s.URL == "" && len(s.Command) == 0:
			v.Add(f, "Set url (streamable HTTP) or command (stdio).")
		case s.URL != "":
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.Add(f+".url", "The url must be an absolute http or https URL.")
			}
		case strings.TrimSpace(s.Command[0]) == "":
			v.Add(f+".command", "The command's first element is the program to run.")
		}
		for k := range s.Headers {
			if !headerNameRE.MatchString(k) {
				v.Add(f+".headers", "The header name %q is not valid.", k)
			}
		}
		for _, name := range s.AllowedTools {
			if strings.TrimSpace(name) == "" {
				v.Add(f+".allowed_tools", "A tool name may not be empty.")
			}
		}
	}
}

func isJSONObject(raw json.RawMessage) bool {
	var m map[string]any
	return json.Unmarshal(raw, &m) == nil && m != nil
}

// MergeHTTPTools returns base with over's tools added; a tool of over
// replaces the one of base with the same name.
func MergeHTTPTools(base, over []HTTPTool) []HTTPTool {
	out := slices.Clone(base)
	for _, t := range over {
		if i := slices.IndexFunc(out, func(b HTTPTool) bool { return b.Name == t.Name }); i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

// MergeMCPServers returns base with over's servers added; a server of over
// replaces the one of base with the same name.
func MergeMCPServers(base, over []MCPServer) []MCPServer {
	out := slices.Clone(base)
	for _, s := range over {
		if i := slices.IndexFunc(out, func(b MCPServer) bool { return b.Name == s.Name }); i >= 0 {
			out[i] = s
		} else {
			out = append(out, s)
		}
	}
	return out
}
