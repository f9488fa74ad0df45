package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tessera-run/tessera/llm"
)

// emptySchema is sent for a tool that declares no parameters. OpenAI reads
// a missing "parameters" the same way, but not every compatible server
// accepts a function without one.
const emptySchema = `{"type":"object","properties":{}}`

// toolParams maps the request's tools to function tools. The schema is
// sent as the caller wrote it (compacted), key order included: decoding it
// into the SDK's map would sort the properties, and their order is a hint
// the model reads.
func toolParams(defs []llm.ToolDef) ([]sdk.ChatCompletionToolUnionParam, error) {
	tools := make([]sdk.ChatCompletionToolUnionParam, 0, len(defs))
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
		fn := shared.FunctionDefinitionParam{Name: d.Name}
		if d.Description != "" {
			fn.Description = param.NewOpt(d.Description)
		}
		fn.SetExtraFields(map[string]any{"parameters": json.RawMessage(schema)})
		tools = append(tools, sdk.ChatCompletionFunctionTool(fn))
	}
	return tools, nil
}

// messageParam maps one message; the error says what is wrong with it.
func messageParam(m llm.Message, developer bool) (sdk.ChatCompletionMessageParamUnion, error) {
	if len(m.ToolCalls) > 0 && m.Role != llm.RoleAssistant {
		return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("has tool calls but role %q: only assistant messages carry them", m.Role)
	}
	if m.ToolCallID != "" && m.Role != llm.RoleTool {
		return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("has a tool call ID but role %q", m.Role)
	}
	switch m.Role {
	case llm.RoleSystem:
		if developer {
			return sdk.DeveloperMessage(m.Content), nil
		}
		return sdk.SystemMessage(m.Content), nil
	case llm.RoleUser:
		if len(m.Images) > 0 {
			return userWithImages(m)
		}
		return sdk.UserMessage(m.Content), nil
	case llm.RoleAssistant:
		if len(m.ToolCalls) == 0 {
			return sdk.AssistantMessage(m.Content), nil
		}
		return assistantToolCalls(m)
	case llm.RoleTool:
		if m.ToolCallID == "" {
			return sdk.ChatCompletionMessageParamUnion{}, errors.New("is a tool message without a tool call ID")
		}
		return sdk.ToolMessage(m.Content, m.ToolCallID), nil
	}
	return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("has unknown role %q", m.Role)
}

// assistantToolCalls maps an assistant message that asked for tool calls.
// Empty content is left out, as the API allows when tool_calls is set.
func assistantToolCalls(m llm.Message) (sdk.ChatCompletionMessageParamUnion, error) {
	var a sdk.ChatCompletionAssistantMessageParam
	if m.Content != "" {
		a.Content.OfString = param.NewOpt(m.Content)
	}
	for j, c := range m.ToolCalls {
		if c.ID == "" || c.Name == "" {
			return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("has tool call %d without an ID or a name", j)
		}
		a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
				ID: c.ID,
				Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{
					Name:      c.Name,
					Arguments: sentArguments(c.Arguments),
				},
			},
		})
	}
	return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
}

// sentArguments is the arguments text sent back in the history: as the
// model wrote it, except that no arguments at all become "{}", because
// servers that render the history through a chat template (llama.cpp,
// vLLM) parse it as JSON and refuse an empty string.
func sentArguments(args string) string {
	if strings.TrimSpace(args) == "" {
		return "{}"
	}
	return args
}

// toolCalls maps the tool calls of a whole response. A custom tool call
// (Tessera declares none) is passed on with its input as the arguments.
func toolCalls(calls []sdk.ChatCompletionMessageToolCallUnion) []llm.ToolCall {
	var out []llm.ToolCall
	for _, c := range calls {
		call := llm.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments}
		if c.Type == "custom" {
			call.Name, call.Arguments = c.Custom.Name, c.Custom.Input
		}
		out = append(out, call)
	}
	return withIDs(out)
}

// withIDs gives each call without an ID (some local servers send none) the
// ID call_<n>, n being its position, made unique among the response's IDs.
func withIDs(calls []llm.ToolCall) []llm.ToolCall {
	used := make(map[string]bool, len(calls))
	for _, c := range calls {
		used[c.ID] = true
	}
	for i := range calls {
		if calls[i].ID != "" {
			continue
		}
		id := "call_" + strconv.Itoa(i)
		for k := 1; used[id]; k++ {
			id = "call_" + strconv.Itoa(i) + "_" + strconv.Itoa(k)
		}
		calls[i].ID = id
		used[id] = true
	}
	return calls
}

// toolCallAccumulator reassembles the tool calls of a stream's first
// choice from their deltas. The SDK's accumulator keys deltas by index
// alone, so a server that leaves the index out of continuation chunks
// (some vLLM, llama.cpp and Ollama versions) would have every fragment
// land on call 0. Here:
//
//   - a delta with an index goes to the call open at that index, unless it
//     carries an ID other than that call's: then it starts a new call (a
//     server numbering every call 0);
//   - a delta without an index goes to the call with its ID, if any; a
//     delta with neither goes to the call the previous delta went to (the
//     last one opened, on the sequential servers that do this), unless it
//     names a function while that call already has a name: then it starts
//     a new call (whole calls sent one per chunk, with no index or ID).
//
// Names are concatenated as the protocol says, except that a name
// repeated whole on a continuation chunk is not doubled. Arguments are
// concatenated as they come, never parsed. Index -1, which some servers
// send for their only call, counts as 0, as in the SDK.
type toolCallAccumulator struct {
	calls   []llm.ToolCall
	byIndex map[int64]int // delta index → position in calls
	last    int           // position the previous delta went to; -1 before any
}

func newToolCallAccumulator() *toolCallAccumulator {
	return &toolCallAccumulator{byIndex: map[int64]int{}, last: -1}
}

// addChunk takes the tool-call deltas of the chunk's first choice.
func (a *toolCallAccumulator) addChunk(chunk *sdk.ChatCompletionChunk) {
	for i := range chunk.Choices {
		if chunk.Choices[i].Index != 0 {
			continue
		}
		for _, d := range chunk.Choices[i].Delta.ToolCalls {
			a.add(&d)
		}
	}
}

func (a *toolCallAccumulator) add(d *sdk.ChatCompletionChunkChoiceDeltaToolCall) {
	i := a.target(d)
	c := &a.calls[i]
	if c.ID == "" {
		c.ID = d.ID
	}
	if name := d.Function.Name; name != c.Name {
		c.Name += name
	}
	c.Arguments += d.Function.Arguments
	a.last = i
}

// target returns the position of the call d continues, opening a new one
// when d starts a call.
func (a *toolCallAccumulator) target(d *sdk.ChatCompletionChunkChoiceDeltaToolCall) int {
	index := d.Index
	if index == -1 {
		index = 0
	}
	if d.JSON.Index.Valid() && index >= 0 {
		if i, ok := a.byIndex[index]; ok && (d.ID == "" || a.calls[i].ID == "" || a.calls[i].ID == d.ID) {
			return i
		}
		i := a.open()
		a.byIndex[index] = i
		return i
	}
	if d.ID != "" {
		for i := range a.calls {
			if a.calls[i].ID == d.ID {
				return i
			}
		}
		if a.last >= 0 && a.calls[a.last].ID == "" && d.Function.Name == "" {
			return a.last // the ID of the call under way came late
		}
		return a.open()
	}
	if a.last < 0 || (d.Function.Name != "" && a.calls[a.last].Name != "") {
		return a.open()
	}
	return a.last
}

func (a *toolCallAccumulator) open() int {
	a.calls = append(a.calls, llm.ToolCall{})
	return len(a.calls) - 1
}

// result returns the calls in the order they were opened, nil for none.
func (a *toolCallAccumulator) result() []llm.ToolCall {
	if len(a.calls) == 0 {
		return nil
	}
	return withIDs(a.calls)
}

// withoutToolCalls returns chunk without its tool-call deltas, for the
// SDK's accumulator, which then only gathers content and metadata (and
// cannot refuse a chunk over an index it dislikes). chunk is not modified.
func withoutToolCalls(chunk sdk.ChatCompletionChunk) sdk.ChatCompletionChunk {
	for i := range chunk.Choices {
		if len(chunk.Choices[i].Delta.ToolCalls) > 0 {
			choices := make([]sdk.ChatCompletionChunkChoice, len(chunk.Choices))
			copy(choices, chunk.Choices)
			for j := range choices {
				choices[j].Delta.ToolCalls = nil
			}
			chunk.Choices = choices
			return chunk
		}
	}
	return chunk
}

// userWithImages maps a user message with images to content parts: the
// text, then each image as a URL or a data: URL of its bytes.
func userWithImages(m llm.Message) (sdk.ChatCompletionMessageParamUnion, error) {
	var parts []sdk.ChatCompletionContentPartUnionParam
	if m.Content != "" {
		parts = append(parts, sdk.TextContentPart(m.Content))
	}
	for i, img := range m.Images {
		u := img.URL
		if u == "" {
			if len(img.Data) == 0 || img.MIMEType == "" {
				return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("image %d has neither a URL nor data with a MIME type", i)
			}
			u = "data:" + img.MIMEType + ";base64," + base64.StdEncoding.EncodeToString(img.Data)
		}
		parts = append(parts, sdk.ImageContentPart(sdk.ChatCompletionContentPartImageImageURLParam{URL: u}))
	}
	return sdk.UserMessage(parts), nil
}
