package anthropic

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/tessera-run/tessera/llm"
)

// turn is one message of the API: a role and its content blocks.
type turn struct {
	role   string // llm.RoleUser or llm.RoleAssistant
	blocks []sdk.ContentBlockParamUnion
}

// messageParams maps the messages to the top-level system prompt (the
// system messages' texts, joined by blank lines) and the API's messages,
// which must alternate between user and assistant: tool results travel as
// user turns, and consecutive turns of one role are merged into one. A
// message that maps to no content at all (empty text) is left out, since
// the API refuses empty content. The error says which message is wrong.
func messageParams(msgs []llm.Message) (string, []sdk.MessageParam, error) {
	var system []string
	var turns []turn
	for i, m := range msgs {
		if err := check(m); err != nil {
			return "", nil, fmt.Errorf("message %d %w", i, err)
		}
		if m.Role == llm.RoleSystem {
			if !blank(m.Content) {
				system = append(system, m.Content)
			}
			continue
		}
		role, blocks, err := contentBlocks(m)
		if err != nil {
			return "", nil, fmt.Errorf("message %d %w", i, err)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(turns); n > 0 && turns[n-1].role == role {
			turns[n-1].blocks = append(turns[n-1].blocks, blocks...)
			continue
		}
		turns = append(turns, turn{role: role, blocks: blocks})
	}
	if len(turns) == 0 {
		return "", nil, errors.New("the request has no message with content")
	}
	params := make([]sdk.MessageParam, len(turns))
	for i, t := range turns {
		if t.role == llm.RoleAssistant {
			params[i] = sdk.MessageParam{OfAssistant: &sdk.AssistantMessageParam{Content: t.blocks}}
			continue
		}
		params[i] = sdk.MessageParam{OfUser: &sdk.UserMessageParam{Content: toolResultsFirst(t.blocks)}}
	}
	return strings.Join(system, "\n\n"), params, nil
}

// check refuses the field combinations no role allows.
func check(m llm.Message) error {
	switch {
	case len(m.ToolCalls) > 0 && m.Role != llm.RoleAssistant:
		return fmt.Errorf("has tool calls but role %q: only assistant messages carry them", m.Role)
	case m.ToolCallID != "" && m.Role != llm.RoleTool:
		return fmt.Errorf("has a tool call ID but role %q", m.Role)
	case len(m.Images) > 0 && m.Role != llm.RoleUser:
		return fmt.Errorf("has images but role %q: only user messages carry them", m.Role)
	}
	return nil
}

// contentBlocks maps a user, assistant or tool message to the role of its
// turn and its blocks.
func contentBlocks(m llm.Message) (string, []sdk.ContentBlockParamUnion, error) {
	switch m.Role {
	case llm.RoleUser:
		blocks, err := imageBlocks(m.Images)
		if err != nil {
			return "", nil, err
		}
		// Images go before the text, where Anthropic advises them.
		return llm.RoleUser, appendText(blocks, m.Content), nil
	case llm.RoleAssistant:
		blocks := appendText(nil, m.Content)
		for j, c := range m.ToolCalls {
			if c.ID == "" || c.Name == "" {
				return "", nil, fmt.Errorf("has tool call %d without an ID or a name", j)
			}
			blocks = append(blocks, sdk.ContentBlockParamUnion{OfToolUse: &sdk.ToolUseBlockParam{
				ID: c.ID, Name: c.Name, Input: toolInput(c.Arguments),
			}})
		}
		return llm.RoleAssistant, blocks, nil
	case llm.RoleTool:
		if m.ToolCallID == "" {
			return "", nil, errors.New("is a tool message without a tool call ID")
		}
		return llm.RoleUser, []sdk.ContentBlockParamUnion{{OfToolResult: toolResult(m)}}, nil
	}
	return "", nil, fmt.Errorf("has unknown role %q", m.Role)
}

// appendText appends a text block, unless the text is blank: the API
// refuses text blocks without a visible character.
func appendText(blocks []sdk.ContentBlockParamUnion, text string) []sdk.ContentBlockParamUnion {
	if blank(text) {
		return blocks
	}
	return append(blocks, sdk.ContentBlockParamUnion{OfText: &sdk.TextBlockParam{Text: text}})
}

// toolResult maps a tool message. An empty result is sent without content,
// which the API allows, rather than as an empty text block, which it
// refuses.
func toolResult(m llm.Message) *sdk.ToolResultBlockParam {
	r := &sdk.ToolResultBlockParam{ToolUseID: m.ToolCallID}
	if !blank(m.Content) {
		r.Content = []sdk.ToolResultBlockParamContentUnion{{OfText: &sdk.TextBlockParam{Text: m.Content}}}
	}
	return r
}

// toolResultsFirst moves the tool results of a user turn before its other
// blocks, keeping each group's order: the API wants them first, right
// after the assistant turn that asked for them.
func toolResultsFirst(blocks []sdk.ContentBlockParamUnion) []sdk.ContentBlockParamUnion {
	out := make([]sdk.ContentBlockParamUnion, 0, len(blocks))
	for _, b := range blocks {
		if b.OfToolResult != nil {
			out = append(out, b)
		}
	}
	for _, b := range blocks {
		if b.OfToolResult == nil {
			out = append(out, b)
		}
	}
	return out
}

// imageBlocks maps a user message's images: their bytes as a base64
// source (the type sniffed when not given), or their URL.
func imageBlocks(images []llm.Image) ([]sdk.ContentBlockParamUnion, error) {
	var blocks []sdk.ContentBlockParamUnion
	for j, img := range images {
		var src sdk.ImageBlockParamSourceUnion
		switch {
		case len(img.Data) > 0:
			mt, err := imageType(img)
			if err != nil {
				return nil, fmt.Errorf("has image %d %w", j, err)
			}
			src.OfBase64 = &sdk.Base64ImageSourceParam{Data: base64.StdEncoding.EncodeToString(img.Data), MediaType: mt}
		case img.URL != "":
			src.OfURL = &sdk.URLImageSourceParam{URL: img.URL}
		default:
			return nil, fmt.Errorf("has image %d with neither data nor a URL", j)
		}
		blocks = append(blocks, sdk.ContentBlockParamUnion{OfImage: &sdk.ImageBlockParam{Source: src}})
	}
	return blocks, nil
}

// imageType returns the media type of an image's bytes, one of the four
// the API takes.
func imageType(img llm.Image) (sdk.Base64ImageSourceMediaType, error) {
	t := img.MIMEType
	if strings.TrimSpace(t) == "" {
		t = http.DetectContentType(img.Data)
	}
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(t))
	}
	if mt == "image/jpg" {
		mt = "image/jpeg"
	}
	switch v := sdk.Base64ImageSourceMediaType(mt); v {
	case sdk.Base64ImageSourceMediaTypeImageJPEG, sdk.Base64ImageSourceMediaTypeImagePNG,
		sdk.Base64ImageSourceMediaTypeImageGIF, sdk.Base64ImageSourceMediaTypeImageWebP:
		return v, nil
	}
	return "", fmt.Errorf("of type %q: only JPEG, PNG, GIF and WebP are accepted", mt)
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
