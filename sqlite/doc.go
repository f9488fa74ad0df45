// Package sqlite is the embedded tessera.Store: one SQLite file, opened by
// one Tessera process at a time, over the pure-Go modernc.org/sqlite driver.
//
// Open configures the connection (WAL, a busy timeout, foreign keys,
// immediate write transactions) and takes an exclusive lock on <path>.lock,
// so a second process on the same file fails at once instead of corrupting
// the lease protocol. The pool holds a single connection: River's SQLite
// driver needs it, and it serialises writers inside the process. Migrate
// applies the embedded migrations; River's own tables are migrated by the
// queue package through DB.
//
// Rows store times as integer Unix microseconds in UTC and JSON values as
// text. Driver errors are translated here into tessera's error kinds:
// a missing row is ENOTFOUND, a taken unique key ECONFLICT.
//
// ExecutionCreate and ExecutionRequeueExpired insert the execution's durable
// job through Config.Enqueue, inside the transaction that writes the
// execution, so an execution is never queued without a job or the reverse.
//
// Every status change appends its event to execution_events in the same
// transaction; seqs are allocated from executions.last_event_seq by the
// fenced UPDATE of the change itself (see event.go). The steps of the tool
// loop (execution_iterations) are written behind the same fence (see
// iteration.go).
package sqlite
