// Package mcptool offers the tools of Model Context Protocol servers to the
// model as ordinary tool.Tool values.
//
// Open connects to every MCP server an execution declares, over streamable
// HTTP (a URL) or stdio (a command the operator allows), lists the tools of
// each and returns a Toolbox; Toolbox.Close ends the sessions and, for
// stdio, the processes.
//
// # One session per execution
//
// A Toolbox belongs to one execution and is never shared or cached across
// executions, for two reasons. A server's tools list can change between
// executions (a deploy, a feature flag, a new permission), and the model must
// be offered what the server offers now, not what it offered an hour ago.
// And the credentials are per instance: the {{secret.NAME}} references in a
// server's headers and environment are filled from the secrets of the
// instance that runs, so a session opened with one instance's token must
// never serve another's calls.
//
// # Names
//
// The model sees a server's tool "search" of the server "docs" as
// "docs__search": the server name, tessera.MCPToolSeparator and the tool's
// own name. Every provider accepts only [a-zA-Z0-9_-]{1,64} as a tool name,
// so any other character (MCP allows '.', for one) becomes '_' and the name
// is cut at 64 bytes. Two tools whose names become the same are an error
// naming both; listing one of them in the server's AllowedTools resolves it.
//
// # Calls
//
// A call sends the model's arguments as they are. The result is the text of
// the server's content (other kinds of content, images say, are described
// in a few words), or its structured content as JSON when there is no text,
// cut at Options.MaxOutputBytes. A result the server marks as an error
// becomes an error with the server's text, which the model reads as
// "Error: …". Calls may run in parallel: the SDK multiplexes them over one
// session.
package mcptool
