// Package client is a Go client of a Tessera server's HTTP API: agents,
// executions and their event streams, API keys and models. The tessera
// command line is built on it.
//
// A Client is made once and used from any goroutine:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("TESSERA_API_KEY"))
//	agent, err := c.Agents.Get(ctx, "support-bot") // an id or a slug
//	res, err := c.Execute(ctx, agent.ID, &client.ExecuteRequest{Message: "Hello"})
//	fmt.Println(res.Output)
//
// The client speaks the server's three surfaces and hides their
// differences: agents, keys and models come from the native API
// (/api/v1), executing an agent uses the Tess-compatible execute
// (/api/agents/{id}/execute), and executions, their iterations, their
// event streams and cancellation come from /api/v1/ai/agents/executions.
//
// # Errors
//
// An answer with an HTTP error status is an *Error carrying the status,
// the server's message and its per-field messages, whichever surface
// answered:
//
//	var e *client.Error
//	if errors.As(err, &e) && e.Status == http.StatusNotFound { … }
//
// Other errors come from the transport (a *url.Error when the server
// cannot be reached) or from the context.
//
// # Streams
//
// [Client.Events] iterates over an execution's events as they happen,
// from its first event or after a given one, and ends after the terminal
// "done" event. When the connection drops it reconnects with
// Last-Event-ID, so every event is seen exactly once.
//
// Every method takes a context: cancelling it ends the call, and a
// stream, but never the execution on the server (use
// [ExecutionsService.Cancel] for that).
package client
