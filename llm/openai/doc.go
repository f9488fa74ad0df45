// Package openai is the llm.Provider for any server that speaks the OpenAI
// Chat Completions API: OpenAI itself, and compatible servers such as
// Ollama, llama.cpp, vLLM or LM Studio. It is built on the official SDK
// (github.com/openai/openai-go/v3).
//
// Each Generate call is exactly one HTTP attempt: the SDK's own retries are
// turned off because retrying, with backoff and Retry-After, is Tessera's
// decision, made from the classified *llm.Error this package returns.
//
// The provider reads no OPENAI_* environment variables (the SDK's NewClient
// would): its whole configuration is the Config it is given, so that a key
// meant for api.openai.com is never sent to another server by accident.
// The API key is never logged and never appears in error messages.
package openai
