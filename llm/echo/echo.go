// Package echo is Tessera's built-in offline provider. It needs no network,
// no key and no model: it answers "Echo: " followed by the last user
// message, so that the API can be tried, and smoke tests run, on a machine
// with no LLM at hand. It is not a model and does not pretend to be one.
//
// Everything is deterministic. A streamed answer arrives word by word (each
// delta carries the whitespace before its word, so the deltas concatenate to
// the whole answer). Usage is an approximation: one token per
// whitespace-separated word of all input messages, and of the output.
//
// The provider ignores tools: it never asks for a tool call, whatever
// Request.Tools offers, and reads tool messages and the tool calls of
// assistant messages only as the messages they are (the answer still
// echoes the last user message).
package echo

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/tessera-run/tessera/llm"
)

// Name is the provider name, Model its only model, Prefix what every
// answer starts with.
const (
	Name   = "echo"
	Model  = "echo"
	Prefix = "Echo: "
)

// Config configures a Provider.
type Config struct {
	// Delay is waited before each word, to make streaming visible in demos
	// and to give tests time to cancel. Zero answers at once.
	Delay time.Duration
}

// Provider is the echo provider. It is safe for concurrent use.
type Provider struct {
	delay time.Duration
}

var _ llm.Provider = (*Provider)(nil)

// New returns an echo provider.
func New(cfg Config) *Provider { return &Provider{delay: cfg.Delay} }

// Name returns "echo".
func (p *Provider) Name() string { return Name }

// Answer returns what the provider answers to msgs: Prefix followed by the
// content of the last user message ("Echo: " alone when there is none).
func Answer(msgs []llm.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return Prefix + msgs[i].Content
		}
	}
	return Prefix
}

// Generate answers req with Answer. A positive MaxTokens cuts the answer to
// that many words, with finish reason "length" as a real model would.
// req.Tools are ignored: the response never has tool calls.
func (p *Provider) Generate(ctx context.Context, req *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	if req == nil {
		return nil, &llm.Error{Provider: Name, Kind: llm.ErrKindInvalid, Message: "no request"}
	}
	words := Words(Answer(req.Messages))
	finish := "stop"
	if req.MaxTokens > 0 && len(words) > req.MaxTokens {
		words, finish = words[:req.MaxTokens], "length"
	}
	for _, w := range words {
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
		if stream != nil {
			if err := stream(w); err != nil {
				return nil, err
			}
		}
	}
	content := strings.Join(words, "")
	return &llm.Response{
		Content:      content,
		FinishReason: finish,
		Usage:        llm.Usage{InputTokens: inputTokens(req.Messages), OutputTokens: int64(len(words))},
		Model:        Model,
	}, nil
}

// wait sleeps the configured delay, ending early when ctx does.
func (p *Provider) wait(ctx context.Context) error {
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return &llm.Error{Provider: Name, Kind: llm.ErrKindCancelled, Message: "the call was cancelled: " + err.Error(), Err: err}
	}
	return nil
}

func inputTokens(msgs []llm.Message) int64 {
	var n int64
	for _, m := range msgs {
		n += int64(len(strings.Fields(m.Content)))
	}
	return n
}

// Words splits s into the deltas the provider streams: each word with the
// whitespace before it, trailing whitespace going to the last word, so
// that the words concatenate to s exactly.
func Words(s string) []string {
	var words []string
	start, inWord := 0, false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && inWord {
			words = append(words, s[start:i])
			start = i
		}
		inWord = !space
	}
	switch {
	case start == len(s):
	case inWord || len(words) == 0:
		words = append(words, s[start:])
	default:
		words[len(words)-1] += s[start:]
	}
	return words
}
