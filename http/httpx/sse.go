package httpx

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// SSE writes a text/event-stream response, flushing after every event.
type SSE struct {
	w  io.Writer
	rc *http.ResponseController
}

// StartSSE sends the event-stream headers and returns the writer.
func StartSSE(w http.ResponseWriter) (*SSE, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // nginx would otherwise buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &SSE{w: w, rc: http.NewResponseController(w)}
	return s, s.flush()
}

// Event writes one event. id and event may be empty; data may hold
// newlines, each of which becomes its own data line.
func (s *SSE) Event(id, event string, data []byte) error {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		fmt.Fprintf(&b, "data: %s\n", line)
	}
	b.WriteString("\n")
	if _, err := io.WriteString(s.w, b.String()); err != nil {
		return err
	}
	return s.flush()
}

// Data writes a bare "data: …" event, the form Tess and OpenAI streams use.
func (s *SSE) Data(data []byte) error { return s.Event("", "", data) }

// Comment writes a comment line, which clients ignore and proxies see as
// traffic (a heartbeat).
func (s *SSE) Comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.flush()
}

func (s *SSE) flush() error {
	if err := s.rc.Flush(); err != nil && err != http.ErrNotSupported {
		return err
	}
	return nil
}
