package mcptool

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// render turns a tool result into the text the model reads: the text of
// its content, one part a line, other kinds described in brackets; and its
// structured content as JSON when no part is text.
func render(res *mcp.CallToolResult) string {
	parts := make([]string, 0, len(res.Content)+1)
	hasText := false
	for _, c := range res.Content {
		part, isText := describe(c)
		parts = append(parts, part)
		hasText = hasText || isText
	}
	if !hasText && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append([]string{string(b)}, parts...)
		}
	}
	return strings.Join(parts, "\n")
}

// describe returns the text of c, or a short description of what it is,
// and whether it is text.
func describe(c mcp.Content) (string, bool) {
	switch c := c.(type) {
	case *mcp.TextContent:
		return c.Text, true
	case *mcp.ImageContent:
		return fmt.Sprintf("[image %s, %d bytes]", c.MIMEType, len(c.Data)), false
	case *mcp.AudioContent:
		return fmt.Sprintf("[audio %s, %d bytes]", c.MIMEType, len(c.Data)), false
	case *mcp.ResourceLink:
		return fmt.Sprintf("[resource link %s]", c.URI), false
	case *mcp.EmbeddedResource:
		r := c.Resource
		switch {
		case r == nil:
			return "[resource]", false
		case r.Text != "":
			return fmt.Sprintf("[resource %s]\n%s", r.URI, r.Text), true
		default:
			return fmt.Sprintf("[resource %s %s, %d bytes]", r.URI, r.MIMEType, len(r.Blob)), false
		}
	default:
		return "[unsupported content]", false
	}
}
