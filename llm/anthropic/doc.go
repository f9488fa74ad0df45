// Package anthropic is the llm.Provider for the Anthropic Messages API
// (POST /v1/messages), built on the official SDK
// (github.com/anthropics/anthropic-sdk-go/v2), which speaks API version
// 2026-10-21 and sends the key as a bearer token.
//
// Each Generate call is exactly one HTTP attempt: the SDK's own retries are
// turned off because retrying, with backoff and Retry-After, is Tessera's
// decision, made from the classified *llm.Error this package returns.
// Config.Timeout bounds the whole call, a stream included, so a stalled
// stream ends as unavailable rather than hanging.
//
// Requests map as follows. System messages become the top-level system
// prompt, joined by blank lines. The other messages become turns that
// alternate as the API requires: tool results travel as tool_result blocks
// of a user turn, placed before any text of that turn, and consecutive
// turns of one role are merged. Blank texts are left out (the API refuses
// empty text blocks). Images go before the text of their user message,
// their bytes as a base64 source (JPEG, PNG, GIF or WebP; the type is
// sniffed when not given), or their URL. An assistant's tool call is sent
// back as a tool_use block whose input is its arguments, or {} when those
// are not a JSON object: the API takes nothing else there. Tool schemas are
// sent as written, key order included. Request.MaxTokens, or
// Config.MaxTokens when it is 0, is sent as max_tokens, which the API
// requires. Request.Temperature is ignored: API version 2026-10-21 refuses
// temperature, top_p and top_k on every model, and the SDK has no field for
// them. Request.OutputSchema is sent as structured output (output_config
// format json_schema), after the SDK's transformation to the schema subset
// the API accepts.
//
// Responses map back the same way: Content is the text blocks joined,
// ToolCalls the tool_use blocks in order, with their input as compact JSON
// (or, for a streamed call cut off mid-input, the JSON as far as it came),
// and FinishReason the OpenAI-style value the rest of Tessera speaks:
// "stop" (end_turn, stop_sequence), "tool_calls", "length" (max_tokens,
// model_context_window_exceeded), "content_filter" (refusal), or any other
// stop reason as sent. Usage.InputTokens is the whole prompt, cache reads
// and writes included, as OpenAI counts it; CachedInputTokens the cache
// reads; ReasoningTokens the thinking tokens.
//
// The provider reads no ANTHROPIC_* environment variables and no
// credential profile (the SDK's NewClient would): its whole configuration
// is the Config it is given. The API key is never logged and never appears
// in error messages.
package anthropic
