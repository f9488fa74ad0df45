package gemini

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/genai"

	"github.com/tessera-run/tessera/llm"
)

// answer gathers the first candidate of a response, or of a stream's
// chunks: each chunk carries new parts, and the finish reason, usage and
// model version seen last win (Gemini repeats the running usage).
type answer struct {
	text     strings.Builder
	calls    []llm.ToolCall
	finish   genai.FinishReason
	usage    *genai.GenerateContentResponseUsageMetadata
	model    string
	blocked  *genai.GenerateContentResponsePromptFeedback
	answered bool // a candidate arrived
}

// add takes one response or chunk, passing its text to fn unless nil.
// Thought parts (the model's summarized reasoning) are neither kept nor
// passed on. An error is fn's.
func (a *answer) add(r *genai.GenerateContentResponse, fn llm.StreamFunc) error {
	if r == nil {
		return nil
	}
	if r.UsageMetadata != nil {
		a.usage = r.UsageMetadata
	}
	if r.ModelVersion != "" {
		a.model = r.ModelVersion
	}
	if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		a.blocked = r.PromptFeedback
	}
	if len(r.Candidates) == 0 || r.Candidates[0] == nil {
		return nil
	}
	cand := r.Candidates[0]
	a.answered = true
	if cand.FinishReason != "" && cand.FinishReason != genai.FinishReasonUnspecified {
		a.finish = cand.FinishReason
	}
	if cand.Content == nil {
		return nil
	}
	for _, part := range cand.Content.Parts {
		switch {
		case part == nil || part.Thought:
		case part.FunctionCall != nil:
			a.calls = append(a.calls, toolCall(part.FunctionCall))
		case part.Text != "":
			a.text.WriteString(part.Text)
			if fn != nil {
				if err := fn(part.Text); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func toolCall(fc *genai.FunctionCall) llm.ToolCall {
	args := "{}"
	if len(fc.Args) > 0 {
		if data, err := json.Marshal(fc.Args); err == nil {
			args = string(data)
		}
	}
	return llm.ToolCall{ID: fc.ID, Name: fc.Name, Arguments: args}
}

// result builds the response. A stream cut cleanly before its finish
// reason is still a broken stream.
func (p *Provider) result(a *answer, model string, streamed bool) (*llm.Response, error) {
	if a.blocked != nil {
		msg := "the prompt was blocked: " + string(a.blocked.BlockReason)
		if a.blocked.BlockReasonMessage != "" {
			msg += ": " + a.blocked.BlockReasonMessage
		}
		return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, msg, nil)
	}
	if !a.answered {
		return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, "the response has no candidates", nil)
	}
	if streamed && a.finish == "" {
		return nil, p.newError(0, llm.ErrKindUnavailable, "the stream ended before the answer was complete", nil)
	}
	if a.model != "" {
		model = a.model
	}
	return &llm.Response{
		Content:      a.text.String(),
		ToolCalls:    withIDs(a.calls),
		FinishReason: finishReason(a.finish, len(a.calls) > 0),
		Usage:        usage(a.usage),
		Model:        model,
	}, nil
}

// finishReason maps Gemini's finish reason to the names the OpenAI
// adapter passes on: "tool_calls" whenever the model called a function
// (Gemini says STOP), "stop", "length", "content_filter" for the safety
// family; any other is passed on in lower case ("malformed_function_call").
func finishReason(r genai.FinishReason, calls bool) string {
	switch {
	case calls:
		return "tool_calls"
	case r == genai.FinishReasonStop:
		return "stop"
	case r == genai.FinishReasonMaxTokens:
		return "length"
	}
	switch r {
	case genai.FinishReasonSafety, genai.FinishReasonRecitation, genai.FinishReasonBlocklist,
		genai.FinishReasonProhibitedContent, genai.FinishReasonSPII, genai.FinishReasonImageSafety,
		genai.FinishReasonImageProhibitedContent, genai.FinishReasonImageRecitation:
		return "content_filter"
	}
	return strings.ToLower(string(r))
}

// usage maps Gemini's counts: thinking is billed as output, and reported
// apart from the answer's tokens.
func usage(u *genai.GenerateContentResponseUsageMetadata) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{
		InputTokens:       int64(u.PromptTokenCount),
		CachedInputTokens: int64(u.CachedContentTokenCount),
		OutputTokens:      int64(u.CandidatesTokenCount) + int64(u.ThoughtsTokenCount),
		ReasoningTokens:   int64(u.ThoughtsTokenCount),
	}
}

// withIDs gives each call without an ID (Gemini often sends none) the ID
// call_<n>, n being its position, made unique among the response's IDs.
// The IDs Gemini sends are kept.
func withIDs(calls []llm.ToolCall) []llm.ToolCall {
	used := make(map[string]bool, len(calls))
	for _, c := range calls {
		used[c.ID] = true
	}
	for i := range calls {
		if calls[i].ID != "" {
			continue
		}
		id := "call_" + strconv.Itoa(i)
		for k := 1; used[id]; k++ {
			id = "call_" + strconv.Itoa(i) + "_" + strconv.Itoa(k)
		}
		calls[i].ID = id
		used[id] = true
	}
	return calls
}

// madeUpID matches the IDs withIDs gives.
var madeUpID = regexp.MustCompile(`^call_[0-9]+(_[0-9]+)?$`)

// sentID is the ID sent back to Gemini with a call or with its result:
// the one Gemini gave, or none for an ID made up here, which Gemini never
// issued (without IDs it pairs results with calls by name). IDs of other
// providers' calls are sent, on the call and on its result alike.
func sentID(id string) string {
	if madeUpID.MatchString(id) {
		return ""
	}
	return id
}
