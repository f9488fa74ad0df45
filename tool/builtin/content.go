package builtin

import (
	"mime"
	"net/http"
	"strings"
)

type bodyKind int

const (
	kindText bodyKind = iota
	kindHTML
	kindBinary
)

// mediaType is the declared media type, or a sniffed one when the server
// declared none.
func mediaType(contentType string, body []byte) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(body))
	return mt
}

// contentKind classifies a response body for display.
func contentKind(contentType string, body []byte) bodyKind {
	mt := mediaType(contentType, body)
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml":
		return kindHTML
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-ndjson", mt == "application/yaml", mt == "application/x-yaml":
		return kindText
	default:
		return kindBinary
	}
}
