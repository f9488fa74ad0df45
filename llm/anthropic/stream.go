package anthropic

import (
	"context"
	"net/http"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/tessera-run/tessera/llm"
)

// stream runs a streamed call, passing each text delta to fn as it comes.
// The SDK's accumulator builds the message (content, stop reason, and the
// usage of message_start updated by message_delta); the tool input JSON
// deltas are also gathered here, as the model wrote them, because the
// accumulator replaces input that does not parse (a call cut off by
// max_tokens) with {}.
func (p *Provider) stream(ctx, callCtx context.Context, params sdk.MessageNewParams, fn llm.StreamFunc) (*llm.Response, error) {
	var res *http.Response
	s := p.messages.NewStreaming(callCtx, params, option.WithResponseInto(&res))
	defer s.Close()

	var msg sdk.Message
	args := map[int64]string{} // content block index → tool input JSON
	stopped := false
	for s.Next() {
		ev := s.Current()
		if err := msg.Accumulate(ev); err != nil {
			return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, "the stream sent a malformed event: "+err.Error(), err)
		}
		switch ev.Type {
		case "content_block_delta":
			if err := delta(ev, args, fn); err != nil {
				return nil, err
			}
		case "message_stop":
			stopped = true
		}
	}
	if err := s.Err(); err != nil {
		return nil, p.classify(ctx, callCtx, err, res)
	}
	if !stopped {
		// A body cut cleanly before message_stop is still a broken stream.
		return nil, p.newError(0, llm.ErrKindUnavailable, "the stream ended before the answer was complete", nil)
	}
	return response(&msg, args), nil
}

// delta handles one content_block_delta: text goes to fn, tool input JSON
// into args; thinking and citations are left to the accumulator.
func delta(ev sdk.MessageStreamEventUnion, args map[int64]string, fn llm.StreamFunc) error {
	switch ev.Delta.Type {
	case "text_delta":
		if ev.Delta.Text != "" {
			return fn(ev.Delta.Text)
		}
	case "input_json_delta":
		args[ev.Index] += ev.Delta.PartialJSON
	}
	return nil
}
