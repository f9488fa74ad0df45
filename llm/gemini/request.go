package gemini

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/genai"

	"github.com/tessera-run/tessera/llm"
)

// call is one request mapped to the SDK's arguments.
type call struct {
	model    string
	contents []*genai.Content
	config   *genai.GenerateContentConfig
}

// request maps a request to the SDK's arguments; the error is invalid.
func (p *Provider) request(req *llm.Request) (*call, error) {
	if req == nil || req.Model == "" {
		return nil, p.invalid("the request names no model")
	}
	if strings.ContainsAny(req.Model, "?&") || strings.Contains(req.Model, "..") {
		return nil, p.invalid("the model name is not a Gemini model name")
	}
	contents, system, err := contentsOf(req.Messages)
	if err != nil {
		return nil, p.invalid(err.Error())
	}
	patch := &wirePatch{}
	config := &genai.GenerateContentConfig{
		SystemInstruction: system,
		// Off: with it the SDK would send the request again, on its own,
		// after a response that stopped with a continuation token.
		AutomaticContinuation: genai.Ptr(false),
		HTTPOptions:           &genai.HTTPOptions{ExtrasRequestProvider: patch.apply},
	}
	if len(req.Tools) > 0 {
		tool, schemas, err := toolOf(req.Tools)
		if err != nil {
			return nil, p.invalid(err.Error())
		}
		config.Tools = []*genai.Tool{tool}
		patch.parameters = schemas
	}
	if req.Temperature != nil {
		config.Temperature = genai.Ptr(float32(*req.Temperature))
	}
	if req.MaxTokens > 0 {
		config.MaxOutputTokens = int32(min(req.MaxTokens, math.MaxInt32))
	}
	if len(req.OutputSchema) > 0 {
		schema := bytes.TrimSpace(req.OutputSchema)
		if !isObject(schema) {
			return nil, p.invalid("the output schema is not a JSON object")
		}
		config.ResponseMIMEType = "application/json"
		config.ResponseJsonSchema = json.RawMessage(schema)
		patch.output = schema
	}
	return &call{model: req.Model, contents: contents, config: config}, nil
}

func (p *Provider) invalid(msg string) *llm.Error {
	return p.newError(0, llm.ErrKindInvalid, msg, nil)
}

// contentsOf maps the messages to contents and a system instruction.
// System messages, wherever they are, become the parts of the system
// instruction, in order. Consecutive tool results become one user content,
// as Gemini wants the answers to one turn's calls together.
func contentsOf(msgs []llm.Message) ([]*genai.Content, *genai.Content, error) {
	var contents []*genai.Content
	var system *genai.Content
	for i, m := range msgs {
		if err := checkMessage(m); err != nil {
			return nil, nil, fmt.Errorf("message %d %w", i, err)
		}
		switch m.Role {
		case llm.RoleSystem:
			if system == nil {
				system = &genai.Content{}
			}
			system.Parts = append(system.Parts, &genai.Part{Text: m.Content})
		case llm.RoleUser:
			c, err := userContent(m)
			if err != nil {
				return nil, nil, fmt.Errorf("message %d %w", i, err)
			}
			contents = append(contents, c)
		case llm.RoleAssistant:
			if c := modelContent(m); c != nil {
				contents = append(contents, c)
			}
		case llm.RoleTool:
			part, err := functionResponse(msgs[:i], m)
			if err != nil {
				return nil, nil, fmt.Errorf("message %d %w", i, err)
			}
			if n := len(contents); n > 0 && i > 0 && msgs[i-1].Role == llm.RoleTool {
				contents[n-1].Parts = append(contents[n-1].Parts, part)
				continue
			}
			contents = append(contents, &genai.Content{Role: genai.RoleUser, Parts: []*genai.Part{part}})
		}
	}
	return contents, system, nil
}

// checkMessage reports what is wrong with m's shape, if anything.
func checkMessage(m llm.Message) error {
	switch {
	case m.Role != llm.RoleSystem && m.Role != llm.RoleUser && m.Role != llm.RoleAssistant && m.Role != llm.RoleTool:
		return fmt.Errorf("has unknown role %q", m.Role)
	case len(m.ToolCalls) > 0 && m.Role != llm.RoleAssistant:
		return fmt.Errorf("has tool calls but role %q: only assistant messages carry them", m.Role)
	case m.ToolCallID != "" && m.Role != llm.RoleTool:
		return fmt.Errorf("has a tool call ID but role %q", m.Role)
	case m.Role == llm.RoleTool && m.ToolCallID == "":
		return errors.New("is a tool message without a tool call ID")
	case len(m.Images) > 0 && m.Role != llm.RoleUser:
		return fmt.Errorf("has images but role %q: only user messages carry them", m.Role)
	}
	for j, c := range m.ToolCalls {
		if c.ID == "" || c.Name == "" {
			return fmt.Errorf("has tool call %d without an ID or a name", j)
		}
	}
	return nil
}

// userContent maps a user message: its images first, then its text, the
// order Google recommends for prompts with images.
func userContent(m llm.Message) (*genai.Content, error) {
	c := &genai.Content{Role: genai.RoleUser}
	for j, img := range m.Images {
		part, err := imagePart(img)
		if err != nil {
			return nil, fmt.Errorf("image %d %w", j, err)
		}
		c.Parts = append(c.Parts, part)
	}
	if m.Content != "" {
		c.Parts = append(c.Parts, &genai.Part{Text: m.Content})
	}
	if len(c.Parts) == 0 { // Gemini refuses a content without parts
		return nil, errors.New("has no content")
	}
	return c, nil
}

func imagePart(img llm.Image) (*genai.Part, error) {
	switch {
	case len(img.Data) > 0 && img.URL != "":
		return nil, errors.New("has both data and a URL")
	case len(img.Data) > 0:
		if img.MIMEType == "" {
			return nil, errors.New("has data but no MIME type")
		}
		return &genai.Part{InlineData: &genai.Blob{MIMEType: img.MIMEType, Data: img.Data}}, nil
	case img.URL != "":
		return &genai.Part{FileData: &genai.FileData{FileURI: img.URL, MIMEType: img.MIMEType}}, nil
	}
	return nil, errors.New("has neither data nor a URL")
}

// modelContent maps an assistant message: its text, then its calls. An
// assistant message with neither is left out, as Gemini refuses a content
// without parts.
func modelContent(m llm.Message) *genai.Content {
	c := &genai.Content{Role: genai.RoleModel}
	if m.Content != "" {
		c.Parts = append(c.Parts, &genai.Part{Text: m.Content})
	}
	for _, tc := range m.ToolCalls {
		c.Parts = append(c.Parts, &genai.Part{FunctionCall: &genai.FunctionCall{
			ID: sentID(tc.ID), Name: tc.Name, Args: arguments(tc.Arguments),
		}})
	}
	if len(c.Parts) == 0 {
		return nil
	}
	return c
}

// arguments parses the arguments the model wrote. Gemini takes an object:
// arguments that are not one (a model's malformed JSON, kept in the
// history as the model wrote it) are sent as no arguments, and the tool's
// error about them follows in the history anyway.
func arguments(args string) map[string]any {
	var m map[string]any
	if json.Unmarshal([]byte(args), &m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// functionResponse maps the tool message m, whose history is before.
// Gemini pairs a result with its call by the function's name, which a tool
// message does not carry: it is the name of the call with that ID in the
// latest assistant message that made one.
func functionResponse(before []llm.Message, m llm.Message) (*genai.Part, error) {
	name := callName(before, m.ToolCallID)
	if name == "" {
		return nil, fmt.Errorf("answers tool call %q, which no earlier assistant message made", m.ToolCallID)
	}
	return &genai.Part{FunctionResponse: &genai.FunctionResponse{
		ID: sentID(m.ToolCallID), Name: name, Response: map[string]any{"output": m.Content},
	}}, nil
}

func callName(before []llm.Message, id string) string {
	for i := len(before) - 1; i >= 0; i-- {
		for _, c := range before[i].ToolCalls {
			if c.ID == id {
				return c.Name
			}
		}
	}
	return ""
}

// toolOf maps the request's tools to one tool of function declarations,
// and returns each one's schema as the caller wrote it (nil for none).
func toolOf(defs []llm.ToolDef) (*genai.Tool, []json.RawMessage, error) {
	tool := &genai.Tool{}
	schemas := make([]json.RawMessage, len(defs))
	for i, d := range defs {
		if d.Name == "" {
			return nil, nil, fmt.Errorf("tool %d has no name", i)
		}
		fn := &genai.FunctionDeclaration{Name: d.Name, Description: d.Description}
		if schema := bytes.TrimSpace(d.Parameters); len(schema) > 0 {
			if !isObject(schema) {
				return nil, nil, fmt.Errorf("tool %q: the parameters are not a JSON object", d.Name)
			}
			fn.ParametersJsonSchema = json.RawMessage(schema)
			schemas[i] = schema
		}
		tool.FunctionDeclarations = append(tool.FunctionDeclarations, fn)
	}
	return tool, schemas, nil
}

func isObject(data []byte) bool {
	return len(data) > 0 && data[0] == '{' && json.Valid(data)
}
