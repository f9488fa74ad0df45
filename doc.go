// Package tessera holds Tessera's domain: workspaces, API keys, agents and
// their questions, executions and their statuses, the error kinds every API
// surface maps to its own shape, and the Store interface the database
// backends implement. It does no I/O.
//
// The flow every surface shares: a surface decodes its request into an
// engine.ExecuteRequest; the engine validates it against the agent and writes
// the execution (status queued) together with its durable job in one
// transaction; a queue worker claims the execution under a lease, runs it and
// writes the terminal status, fenced by the attempt number so a late worker
// can never overwrite it.
package tessera
