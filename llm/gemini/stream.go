package gemini

import (
	"context"

	"github.com/tessera-run/tessera/llm"
)

// stream runs a streamed call (streamGenerateContent, server-sent
// events), passing each text part of the first candidate to fn as it
// arrives. Function calls arrive whole, each in one chunk, and are
// gathered. Breaking out of the loop, on fn's error or on the stream's,
// makes the SDK close the response body.
func (p *Provider) stream(ctx, callCtx context.Context, c *call, rec *responseRecord, fn llm.StreamFunc) (*llm.Response, error) {
	var a answer
	for chunk, err := range p.models.GenerateContentStream(callCtx, c.model, c.contents, c.config) {
		if err != nil {
			return nil, p.classify(ctx, callCtx, err, rec)
		}
		if err := a.add(chunk, fn); err != nil {
			return nil, err
		}
	}
	return p.result(&a, c.model, true)
}
