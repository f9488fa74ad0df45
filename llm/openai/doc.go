// Package openai is the llm.Provider for any server that speaks the OpenAI
// Chat Completions API: OpenAI itself, and compatible servers such as
// Ollama, llama.cpp, vLLM or LM Studio. It is built on the official SDK
// (github.com/openai/openai-go/v3).
//
// Each Generate call is exactly one HTTP attempt: the SDK's own retries are
// turned off because retrying, with backoff and Retry-After, is Tessera's
// decision, made from the classified *llm.Error this package returns.
//
// Tool calling is native: Request.Tools are sent as function tools, and
// the calls the model asks for come back in Response.ToolCalls, in order,
// with their arguments exactly as the model wrote them (possibly not valid
// JSON: the caller validates). Streamed calls are reassembled from their
// deltas, also from servers that leave the index or the ID out of their
// continuation chunks; a call that arrives without an ID is given
// call_<n>. FinishReason is passed on as the server sent it: OpenAI says
// "tool_calls", but some servers say "stop", so a caller should look at
// ToolCalls rather than at the finish reason.
//
// The provider reads no OPENAI_* environment variables (the SDK's NewClient
// would): its whole configuration is the Config it is given, so that a key
// meant for api.openai.com is never sent to another server by accident.
// The API key is never logged and never appears in error messages.
package openai
