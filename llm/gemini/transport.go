package gemini

import (
	"context"
	"net/http"
)

// responseRecord is the status and headers of the HTTP response of one
// Generate call. The SDK's APIError keeps neither, and Retry-After is a
// header.
type responseRecord struct {
	status int
	header http.Header
}

type recordKey struct{}

// withRecord makes the calls made with ctx record their response in rec.
func withRecord(ctx context.Context, rec *responseRecord) context.Context {
	return context.WithValue(ctx, recordKey{}, rec)
}

// recordingTransport records each response in the record its request's
// context carries. RoundTrip runs on the goroutine that called
// http.Client.Do, which is the one that later reads the record.
type recordingTransport struct {
	base http.RoundTripper
}

func (t recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if rec, ok := r.Context().Value(recordKey{}).(*responseRecord); ok && res != nil {
		rec.status, rec.header = res.StatusCode, res.Header
	}
	return res, err
}

// recordingClient returns a copy of c (a plain client if nil) whose
// transport records responses; c itself is not modified.
func recordingClient(c *http.Client) *http.Client {
	var hc http.Client
	if c != nil {
		hc = *c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = recordingTransport{base: base}
	return &hc
}
