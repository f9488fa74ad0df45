// Package gemini is the llm.Provider for Google's Gemini API
// (generativelanguage.googleapis.com), built on the official SDK
// (google.golang.org/genai).
//
// Each Generate call is exactly one HTTP request. The SDK can retry 408,
// 429 and 5xx answers by itself, and by default continues a response that
// stopped early with a second request: both are turned off, because
// retrying, with backoff and Retry-After, is Tessera's decision, made from
// the classified *llm.Error this package returns. A 429's wait is read
// from Retry-After or from the RetryInfo detail Gemini sends.
//
// Tool calling is native: Request.Tools become function declarations,
// their JSON Schemas sent as written, key order included, and function
// calls come back in Response.ToolCalls with their arguments as JSON.
// Gemini often gives a call no ID: such a call is given call_<n>, an ID
// that is never sent back to Gemini, which then pairs a result with its
// call by the function's name (that of the call with the tool message's
// ID in the history). The IDs Gemini does give are kept and sent back.
//
// Gemini signs its function calls and wants the signatures back with the
// history, but llm.ToolCall has no place to keep one: the history's calls
// are sent with the placeholder signature Google documents for history it
// did not produce. The model keeps its calls and their results, and loses
// only the reasoning it did before making them.
//
// The provider reads no GOOGLE_* or GEMINI_* environment variables and
// never looks for Google default credentials: its whole configuration is
// the Config it is given, and an API key is required. The key travels in
// the x-goog-api-key header, is never logged and never appears in error
// messages.
package gemini
