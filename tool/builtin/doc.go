// Package builtin holds Tessera's built-in tools: calculator, current_time,
// http_request, web_fetch and web_search, and TessToolSet, which maps the
// Tess "tools" values (internet, wikipedia, reddit, …) to them.
//
// Each tool decodes its own arguments strictly — an unknown or mistyped
// field is an error the model reads and can fix — and returns errors
// written for the model; tool.Invoke turns them into observations.
//
// # Network safety
//
// http_request and web_fetch go through the client that NewHTTPClient
// builds. Its dialer refuses loopback, private, link-local, CGNAT, cloud
// metadata, unspecified, multicast and other special-purpose addresses
// (code.dny.dev/ssrf) at connect time, after DNS resolution, so neither DNS
// rebinding nor a redirect can reach them; HTTPConfig.Allow lists the
// exceptions an operator permits (intranet hosts, and test servers).
//
// The web search backend is different: the operator configures its URL,
// often on localhost, so its client is deliberately not guarded. The model
// chooses only the query, never the backend's address.
package builtin
