package openai

import (
	"context"
	"net/http"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/tessera-run/tessera/llm"
)

// stream runs a streamed call, passing each content delta of the first
// choice to fn; tool-call deltas are gathered, not passed on. Usage is
// asked for with stream_options.include_usage; servers that ignore it
// yield zero usage.
func (p *Provider) stream(ctx, callCtx context.Context, params sdk.ChatCompletionNewParams, fn llm.StreamFunc) (*llm.Response, error) {
	params.StreamOptions.IncludeUsage = param.NewOpt(true)
	var res *http.Response
	s := p.chat.NewStreaming(callCtx, params, option.WithResponseInto(&res))
	defer s.Close()

	var acc sdk.ChatCompletionAccumulator
	tools := newToolCallAccumulator()
	var last sdk.CompletionUsage
	for s.Next() {
		chunk := s.Current()
		if !acc.AddChunk(withoutToolCalls(chunk)) {
			return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, "the stream sent a malformed chunk", nil)
		}
		tools.addChunk(&chunk)
		// The last usage wins rather than the accumulator's sum: some servers
		// repeat the running total in every chunk.
		if chunk.JSON.Usage.Valid() {
			last = chunk.Usage
		}
		if err := emit(chunk, fn); err != nil {
			return nil, err
		}
	}
	if err := s.Err(); err != nil {
		return nil, p.classify(ctx, err, res)
	}
	return p.streamed(&acc, tools, last)
}

func emit(chunk sdk.ChatCompletionChunk, fn llm.StreamFunc) error {
	for _, c := range chunk.Choices {
		if c.Index == 0 && c.Delta.Content != "" {
			if err := fn(c.Delta.Content); err != nil {
				return err
			}
		}
	}
	return nil
}

// streamed builds the response of a stream that ended without error. A
// stream cut cleanly before its finish_reason is still a broken stream.
func (p *Provider) streamed(acc *sdk.ChatCompletionAccumulator, tools *toolCallAccumulator, u sdk.CompletionUsage) (*llm.Response, error) {
	if len(acc.Choices) == 0 {
		return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, "the stream has no choices", nil)
	}
	choice := acc.Choices[0]
	if choice.FinishReason == "" {
		return nil, p.newError(0, llm.ErrKindUnavailable, "the stream ended before the answer was complete", nil)
	}
	return &llm.Response{
		Content:      choice.Message.Content,
		ToolCalls:    tools.result(),
		FinishReason: choice.FinishReason,
		Usage:        usage(u),
		Model:        acc.Model,
	}, nil
}
