// Package tool is the provider-neutral tool layer of the agent loop: the
// Tool interface every tool implements (a name, a description, a JSON
// Schema of its arguments and a Call), the Set of tools bound to one
// execution, and Invoke, which runs one call and turns whatever happens —
// a result, an error, malformed arguments, a timeout or a panic — into an
// Observation the model can read.
//
// The built-in tools live in tool/builtin; MCP tools and others will
// implement the same interface.
//
// Nothing here logs: Invoke reports panics in Observation.Panic so that the
// caller, which knows the execution, logs them with context. The model only
// ever sees short, safe text — never a stack trace.
package tool
