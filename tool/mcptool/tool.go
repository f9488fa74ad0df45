package mcptool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// mcpTool is one tool of a server, as the model sees it.
type mcpTool struct {
	name, description string
	parameters        json.RawMessage
	remote            string // the tool's name on the server
	conn              *conn
	calls             *gate
	maxOutput         int
}

func newTool(c *conn, t *mcp.Tool, calls *gate, maxOutput int) *mcpTool {
	return &mcpTool{
		name:        toolName(c.server, t.Name),
		description: description(t),
		parameters:  inputSchema(t.InputSchema),
		remote:      t.Name,
		conn:        c,
		calls:       calls,
		maxOutput:   maxOutput,
	}
}

func (t *mcpTool) Name() string                { return t.name }
func (t *mcpTool) Description() string         { return t.description }
func (t *mcpTool) Parameters() json.RawMessage { return t.parameters }

// Call runs the tool on its server. A result the server marks as an error
// is returned as an error with the server's text.
func (t *mcpTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	arguments, err := decodeArgs(args)
	if err != nil {
		return tool.Result{}, fmt.Errorf("invalid arguments for tool %s: %v", t.name, err)
	}
	if !t.calls.enter() {
		return tool.Result{}, fmt.Errorf("MCP server %s is closed", t.conn.server)
	}
	defer t.calls.leave()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.calls.abort, cancel)()
	res, err := t.conn.session.CallTool(ctx, &mcp.CallToolParams{Name: t.remote, Arguments: arguments})
	switch {
	case err != nil && t.calls.abort.Err() != nil:
		return tool.Result{}, fmt.Errorf("MCP server %s was closed before tool %s finished", t.conn.server, t.remote)
	case err != nil:
		return tool.Result{}, fmt.Errorf("MCP server %s could not run tool %s: %v", t.conn.server, t.remote, err)
	}
	text, cut := tool.Truncate(render(res), t.maxOutput)
	if res.IsError {
		if text == "" {
			text = fmt.Sprintf("tool %s failed without saying why", t.remote)
		}
		return tool.Result{}, errors.New(text)
	}
	return tool.Result{Content: text, Truncated: cut}, nil
}

// decodeArgs decodes a JSON object, keeping numbers as written; empty args
// and null mean {}.
func decodeArgs(args json.RawMessage) (map[string]any, error) {
	m := map[string]any{}
	if len(bytes.TrimSpace(args)) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, errors.New("arguments must be a JSON object")
	}
	if dec.More() {
		return nil, errors.New("arguments must be one JSON object")
	}
	if m == nil { // null
		m = map[string]any{}
	}
	return m, nil
}

// toolName joins server and name with tessera.MCPToolSeparator, replaces
// every character outside [a-zA-Z0-9_-] with '_' and cuts at 64 bytes.
func toolName(server, name string) string {
	const max = 64
	var b strings.Builder
	for _, r := range server + tessera.MCPToolSeparator + name {
		if b.Len() == max {
			break
		}
		if r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// description is what the model reads to choose the tool: the server's
// description, else a title, else the name.
func description(t *mcp.Tool) string {
	switch {
	case strings.TrimSpace(t.Description) != "":
		return t.Description
	case t.Title != "":
		return t.Title
	case t.Annotations != nil && t.Annotations.Title != "":
		return t.Annotations.Title
	default:
		return t.Name
	}
}

var objectSchema = json.RawMessage(`{"type":"object"}`)

// inputSchema returns the tool's input schema as JSON, an object schema in
// any case: a schema without a type gets "type":"object", and a missing or
// unusable one becomes {"type":"object"}.
func inputSchema(schema any) json.RawMessage {
	raw, err := json.Marshal(schema)
	if err != nil {
		return objectSchema
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return objectSchema
	}
	switch m["type"] {
	case "object":
		return raw
	case nil:
		m["type"] = "object"
		if raw, err = json.Marshal(m); err != nil {
			return objectSchema
		}
		return raw
	default:
		return objectSchema
	}
}
