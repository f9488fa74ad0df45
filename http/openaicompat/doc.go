// Package openaicompat serves Tessera's agents over the OpenAI Chat
// Completions API, so that any OpenAI SDK or tool can call them.
//
// Two ways in, on one core:
//
//   - Per agent, as Tess has it (tess-api.md §3.5): a client whose base URL
//     is …/agents/{id}/openai (un-prefixed or under /api) posts to
//     /chat/completions. The body's model, when given, overrides the
//     agent's model, as on Tess's execute.
//   - Any agent: POST /v1/chat/completions, where model names the agent by
//     slug or numeric id, and GET /v1/models lists the workspace's chat
//     agents as models.
//
// A request becomes one engine.ExecuteRequest: system and developer
// messages fold into Tess's single leading developer message, the rest must
// follow Tess's message rules, tools is a Tess tool set name (a string,
// never OpenAI's function array), and other root-level fields answer the
// agent's questions exactly as on Tess's execute. Non-streamed answers wait
// for the execution; streamed ones are chat.completion.chunk events read
// from the execution's event log, ending with "data: [DONE]". A client that
// goes away never cancels the execution: it can still be fetched at
// /agent-responses/{id}, whose id every answer carries in the
// X-Tessera-Execution-Id header.
//
// Errors, authentication failures included, come out in OpenAI's shape
// {"error": {"message", "type", "param", "code"}}; WriteError is the one
// place that maps error kinds to statuses.
package openaicompat
