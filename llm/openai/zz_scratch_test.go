package openai

import (
	"encoding/json"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

func TestScratch(t *testing.T) {
	raw := json.RawMessage(`{"type": "object", "properties": {"z": {"type":"string"}, "a": {"type":"integer"}}, "required": ["z"]}`)
	fd := shared.FunctionDefinitionParam{Name: "f"}
	fd.SetExtraFields(map[string]any{"parameters": raw})
	p := sdk.ChatCompletionNewParams{Model: "m", Tools: []sdk.ChatCompletionToolUnionParam{sdk.ChatCompletionFunctionTool(fd)}}
	b, err := json.Marshal(p)
	t.Logf("%s %v", b, err)
	fd2 := shared.FunctionDefinitionParam{Name: "f", Parameters: shared.FunctionParameters{"properties": json.RawMessage(`{"z": {"type":"string"}, "a": {}}`), "type": "object"}}
	p.Tools = []sdk.ChatCompletionToolUnionParam{sdk.ChatCompletionFunctionTool(fd2)}
	b, err = json.Marshal(p)
	t.Logf("%s %v", b, err)
	asst := sdk.ChatCompletionAssistantMessageParam{ToolCalls: []sdk.ChatCompletionMessageToolCallUnionParam{{OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{ID: "c1", Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "f", Arguments: "{bad"}}}}}
	p.Messages = []sdk.ChatCompletionMessageParamUnion{{OfAssistant: &asst}, sdk.ToolMessage("", "c1")}
	b, err = json.Marshal(p)
	t.Logf("%s %v", b, err)
}
