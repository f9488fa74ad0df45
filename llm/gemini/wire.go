package gemini

import (
	"bytes"
	"encoding/json"

	"google.golang.org/genai"
)

// skipSignature is the thought signature Google documents for function
// calls the model did not sign in this request's history: the API then
// skips its signature check instead of refusing the request.
const skipSignature = "skip_thought_signature_validator"

// wirePatch edits the request body the SDK is about to send, for what its
// types cannot say. It runs through HTTPOptions.ExtrasRequestProvider.
type wirePatch struct {
	// parameters are the tools' schemas as the caller wrote them, one per
	// function declaration, nil for none.
	parameters []json.RawMessage
	// output is the output schema as the caller wrote it, nil for none.
	output json.RawMessage
}

// apply puts the schemas back as the caller wrote them, and signs the
// history's function calls (see the package comment). The SDK builds the
// body by decoding its structs into maps, which sorts a schema's
// properties; their order is a hint to the model, and in an output schema
// the order of the answer's keys.
func (w *wirePatch) apply(body map[string]any) map[string]any {
	body, ok := plain(body)
	if !ok {
		return body
	}
	if decls := declarations(body); len(decls) == len(w.parameters) {
		for i, d := range decls {
			if decl, ok := d.(map[string]any); ok && w.parameters[i] != nil {
				decl["parametersJsonSchema"] = w.parameters[i]
			}
		}
	}
	if config, ok := body["generationConfig"].(map[string]any); ok && w.output != nil {
		config["responseJsonSchema"] = w.output
	}
	signCalls(body)
	return body
}

// plain returns body with only []any for lists: the SDK's maps mix them
// with []map[string]any, which a round trip through JSON undoes, whatever
// the SDK version does. Numbers are kept as written.
func plain(body map[string]any) (map[string]any, bool) {
	data, err := json.Marshal(body)
	if err != nil {
		return body, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out map[string]any
	if dec.Decode(&out) != nil {
		return body, false
	}
	return out, true
}

func declarations(body map[string]any) []any {
	tools, _ := body["tools"].([]any)
	for _, t := range tools {
		if tool, ok := t.(map[string]any); ok {
			if decls, ok := tool["functionDeclarations"].([]any); ok {
				return decls
			}
		}
	}
	return nil
}

func signCalls(body map[string]any) {
	contents, _ := body["contents"].([]any)
	for _, c := range contents {
		content, ok := c.(map[string]any)
		if !ok || content["role"] != genai.RoleModel {
			continue
		}
		parts, _ := content["parts"].([]any)
		for _, p := range parts {
			if part, ok := p.(map[string]any); ok && part["functionCall"] != nil {
				if part["thoughtSignature"] == nil {
					part["thoughtSignature"] = skipSignature
				}
				break
			}
		}
	}
}
