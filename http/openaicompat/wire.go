package openaicompat

import (
	"strconv"

	"github.com/tessera-run/tessera"
)

// Wire shapes of OpenAI's Chat Completions and Models APIs, as far as this
// surface fills them.
type (
	// completion is a chat.completion or, with Object
	// "chat.completion.chunk", one streamed chunk of it.
	completion struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Created int64    `json:"created"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
		Usage   *usage   `json:"usage,omitempty"`
	}
	choice struct {
		Index        int       `json:"index"`
		Message      *message  `json:"message,omitempty"`
		Delta        *delta    `json:"delta,omitempty"`
		FinishReason *string   `json:"finish_reason"`
		Logprobs     *struct{} `json:"logprobs"` // always null
	}
	message struct {
		Role    string  `json:"role"`
		Content string  `json:"content"`
		Refusal *string `json:"refusal"` // always null
	}
	// delta's Content is a pointer so that the first chunk can carry an
	// empty content, as OpenAI's does.
	delta struct {
		Role    string  `json:"role,omitempty"`
		Content *string `json:"content,omitempty"`
	}
	usage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		TotalTokens         int64 `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
	model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	modelList struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}
)

// ExecutionIDHeader names the execution behind every answer, so that a
// client can fetch it at /agent-responses/{id} (after a 504, say).
const ExecutionIDHeader = "X-Tessera-Execution-Id"

// completionID is the completion id of an execution; the same execution
// (an Idempotency-Key replay) always gets the same one.
func completionID(id int64) string { return "chatcmpl-" + strconv.FormatInt(id, 10) }

func toUsage(u tessera.Usage) *usage {
	out := &usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
	out.PromptTokensDetails.CachedTokens = u.CachedInputTokens
	return out
}

// toCompletion renders a completed execution.
func toCompletion(ex *tessera.Execution, modelName string) completion {
	stop := "stop"
	return completion{
		ID: completionID(ex.ID), Object: "chat.completion", Created: ex.CreatedAt.Unix(), Model: modelName,
		Choices: []choice{{Message: &message{Role: tessera.RoleAssistant, Content: ex.Output}, FinishReason: &stop}},
		Usage:   toUsage(ex.Usage),
	}
}

// toModel shows an agent as a model: its slug is the id clients use.
func toModel(a *tessera.Agent) model {
	id := a.Slug
	if id == "" {
		id = strconv.FormatInt(a.ID, 10)
	}
	return model{ID: id, Object: "model", Created: a.CreatedAt.Unix(), OwnedBy: "tessera"}
}
