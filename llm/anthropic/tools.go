package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/packages/param"

	"github.com/tessera-run/tessera/llm"
)

// emptySchema is sent for a tool that declares no parameters: the API
// requires an input_schema.
const emptySchema = `{"type":"object","properties":{}}`

// toolParams maps the request's tools to custom tools. The schema is sent
// as the caller wrote it (compacted), key order included: decoding it into
// the SDK's types would sort the properties, and their order is a hint the
// model reads.
func toolParams(defs []llm.ToolDef) ([]sdk.ToolUnionParam, error) {
	tools := make([]sdk.ToolUnionParam, 0, len(defs))
	for i, d := range defs {
		if d.Name == "" {
			return nil, fmt.Errorf("tool %d has no name", i)
		}
		schema := bytes.TrimSpace(d.Parameters)
		switch {
		case len(schema) == 0:
			schema = []byte(emptySchema)
		case schema[0] != '{' || !json.Valid(schema):
			return nil, fmt.Errorf("tool %q: the parameters are not a JSON object", d.Name)
		}
		tool := &sdk.ToolParam{Name: d.Name}
		if d.Description != "" {
			tool.Description = param.NewOpt(d.Description)
		}
		tool.SetExtraFields(map[string]any{"input_schema": json.RawMessage(schema)})
		tools = append(tools, sdk.ToolUnionParam{OfTool: tool})
	}
	return tools, nil
}

// toolInput is the input of a tool call sent back in the history. The API
// takes only a JSON object there, so arguments that are not one (none at
// all, malformed, cut off, an array) are sent as {}: the call then reads
// as one without arguments, and the tool result that follows it (most
// likely an error about the arguments) tells the model what went wrong.
// Inventing a wrapper object instead would show the model a call it never
// made.
func toolInput(args string) json.RawMessage {
	raw := []byte(strings.TrimSpace(args))
	var obj map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return json.RawMessage(`{}`)
	}
	return raw
}

// arguments is the Arguments of a tool call the model made: its input
// JSON, compacted, so that a streamed and an unstreamed call read the
// same. Input that is not valid JSON (a stream cut off mid-call) is passed
// on untouched for the caller to refuse; none at all reads as {}.
func arguments(input string) string {
	input = strings.TrimSpace(input)
	if input == "" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, []byte(input)) != nil {
		return input
	}
	return b.String()
}
