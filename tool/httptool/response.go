package httptool

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// response reads and formats the response for the model: the status line
// and the body, cut at the size limit, with every secret scrubbed.
func (t *httpTool) response(resp *http.Response) (string, bool, error) {
	// Read past the limit by the longest secret, so that one straddling
	// the cut is scrubbed whole rather than shown in part.
	raw, more, err := readBody(resp.Body, t.maxBytes+int64(t.scrub.longest()))
	if err != nil {
		return "", false, err
	}
	body, truncated := raw, more || int64(len(raw)) > t.maxBytes
	if truncated {
		body = raw[:t.scrub.extendCut(raw, int(t.maxBytes))]
	}
	return t.scrub.text(formatResponse(resp, body, truncated)), truncated, nil
}

// readBody reads at most max bytes and reports whether there was more.
func readBody(r io.Reader, max int64) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// formatResponse has the shape of the built-in http_request's result:
// status line, blank line, body.
func formatResponse(resp *http.Response, body []byte, truncated bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %s\n\n", resp.Status)
	b.WriteString(bodyText(resp.Header.Get("Content-Type"), body))
	if truncated {
		fmt.Fprintf(&b, "\n[body truncated at %d bytes]", len(body))
	}
	return b.String()
}

// bodyText shows text bodies and describes binary ones, which are useless
// to the model and expensive in tokens.
func bodyText(contentType string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if mt := mediaType(contentType, body); !isText(mt) {
		return fmt.Sprintf("[%d bytes of binary content (%s) not shown]", len(body), mt)
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// mediaType is the declared media type, or a sniffed one when the server
// declared none.
func mediaType(contentType string, body []byte) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(body))
	return mt
}

func isText(mt string) bool {
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/xhtml+xml",
		"application/x-ndjson", "application/yaml", "application/x-yaml", "application/x-www-form-urlencoded":
		return true
	}
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}
