// Package httptool turns a declared HTTP tool (tessera.HTTPTool) into a
// tool.Tool: one HTTP call, configured by an operator on an agent or an
// instance, whose URL, body and headers are templates the model fills with
// its arguments.
//
// # Templates
//
// {{name}} stands for the argument name and {{secret.NAME}} for the
// instance's credential NAME; spaces inside the braces are ignored.
//
//   - In the URL an argument is percent-escaped: with url.PathEscape before
//     the template's first '?' (so "a b/c" stays one path segment,
//     "a%20b%2Fc"; the values "." and ".." are refused there) and with
//     url.QueryEscape after it. The scheme and host are fixed text.
//   - In the body an argument is written as its JSON encoding, so a
//     placeholder stands for a whole JSON value: `{"q": {{query}}}` yields
//     `{"q": "cats"}` or `{"q": 3}`. A placeholder inside a JSON string,
//     `{"q": "about {{query}}"}`, is not supported and New refuses it.
//     With no Body template, POST, PUT and PATCH send the arguments object
//     itself. A body is sent as application/json unless the tool sets its
//     own Content-Type.
//   - In a header an argument is plain text: a string as is, any other
//     value as JSON.
//
// An argument the model left out is an error when the schema lists it as
// required; otherwise it is empty text in the URL and headers and null in
// the body. When the tool declares no parameters, each placeholder becomes
// a required string parameter, so the model learns what to send.
//
// Secrets may appear in headers and in the URL's query only: never in the
// path (it ends up in access logs) nor in the body (the model chooses what
// surrounds it). New checks every reference against the instance's secrets
// and returns an EINVALID error naming the missing ones.
//
// # Secrets never reach the model
//
// The model reads everything a call produces, and what it reads may end up
// in a reply, a log or another tool's input. So every secret value the tool
// uses — raw, percent-escaped and JSON-escaped — is replaced by "[secret]"
// in the response shown to the model (a server that echoes the
// Authorization header gives nothing away) and in every error; errors name
// the request by method, scheme, host and path, never its query. On a
// redirect to another scheme or host, headers that carry a secret are
// dropped.
//
// # Network safety
//
// The tool sends requests with Config.Client, which the caller builds with
// builtin.NewHTTPClient so that the SSRF guard applies to declared tools
// as to http_request. The client's own limits (its Timeout, say) still
// apply on top of the tool's timeout.
package httptool
