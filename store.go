package tessera

import (
	"context"
	"encoding/json"
	"time"
)

// Store is the persistence every backend (embedded SQLite, PostgreSQL)
// implements with the same semantics, checked by package storetest.
//
// Methods return *Error values of kind ENOTFOUND (a missing row, or a row of
// another workspace: the two are indistinguishable to callers), ECONFLICT
// (a unique key taken) or EINVALID; any other error is internal.
type Store interface {
	WorkspaceStore
	APIKeyStore
	AgentStore
	ExecutionStore
	EventStore
	IterationStore
	InstanceStore
	ScheduleStore
	AgentVersionStore
	WebhookStore
	TriggerStore

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// WorkspaceStore persists workspaces.
type WorkspaceStore interface {
	// WorkspaceCreate inserts a workspace. When params.ID is non-zero that id
	// is used (bootstrap creates workspace 1); ECONFLICT if it exists.
	WorkspaceCreate(ctx context.Context, params *WorkspaceCreateParams) (*Workspace, error)
	// WorkspaceGetByID returns ENOTFOUND when the workspace does not exist.
	WorkspaceGetByID(ctx context.Context, id int64) (*Workspace, error)
	// WorkspaceList returns workspaces ordered by id; IDs filters when set.
	WorkspaceList(ctx context.Context, params *WorkspaceListParams) ([]*Workspace, error)
}

type WorkspaceCreateParams struct {
	ID   int64
	Name string
	Now  time.Time
}

type WorkspaceListParams struct {
	// IDs restricts the list to these workspaces; nil means all.
	IDs []int64
}

// APIKeyStore persists API keys (hashed).
type APIKeyStore interface {
	// APIKeyCreate inserts a key and its workspace grants, in order (the first
	// is the default). ENOTFOUND if a workspace does not exist.
	APIKeyCreate(ctx context.Context, params *APIKeyCreateParams) (*APIKey, error)
	// APIKeyGetByHash returns the non-revoked key with this hash, or ENOTFOUND.
	APIKeyGetByHash(ctx context.Context, hash string) (*APIKey, error)
	// APIKeyList returns non-revoked keys ordered by id; WorkspaceID filters
	// to keys granted that workspace when non-zero.
	APIKeyList(ctx context.Context, params *APIKeyListParams) ([]*APIKey, error)
	// APIKeyRevoke revokes a key. ENOTFOUND when it does not exist, is already
	// revoked, or (WorkspaceID non-zero) is not granted that workspace.
	APIKeyRevoke(ctx context.Context, params *APIKeyRevokeParams) error
	// APIKeyCount counts non-revoked keys.
	APIKeyCount(ctx context.Context) (int, error)
	// APIKeyTouch records that a key was used at now.
	APIKeyTouch(ctx context.Context, id int64, now time.Time) error
}

type APIKeyCreateParams struct {
	Name         string
	Hash         string
	Prefix       string
	WorkspaceIDs []int64
	Now          time.Time
}

type APIKeyListParams struct {
	WorkspaceID int64
}

type APIKeyRevokeParams struct {
	ID          int64
	WorkspaceID int64
	Now         time.Time
}

// AgentStore persists agent definitions.
type AgentStore interface {
	// AgentCreate inserts params.Agent (ID, Version, CreatedAt and UpdatedAt
	// are set by the store: Version 1, both times Now) and returns it.
	// ECONFLICT when the slug is taken in the workspace.
	AgentCreate(ctx context.Context, params *AgentCreateParams) (*Agent, error)
	// AgentGetByID returns ENOTFOUND when missing or in another workspace.
	AgentGetByID(ctx context.Context, params *AgentGetParams) (*Agent, error)
	// AgentGetBySlug returns ENOTFOUND when missing or in another workspace.
	AgentGetBySlug(ctx context.Context, workspaceID int64, slug string) (*Agent, error)
	// AgentList returns one page of a workspace's agents ordered by id
	// (descending when Desc) and the total matching count.
	AgentList(ctx context.Context, params *AgentListParams) ([]*Agent, int, error)
	// AgentUpdate replaces every definition field of the agent identified by
	// params.Agent.ID and params.Agent.WorkspaceID, increments Version and
	// sets UpdatedAt. ENOTFOUND when missing; ECONFLICT when the slug is taken.
	AgentUpdate(ctx context.Context, params *AgentUpdateParams) (*Agent, error)
	// AgentDelete deletes an agent. ENOTFOUND when missing.
	AgentDelete(ctx context.Context, params *AgentGetParams) error
	// AgentUpsertBySlug creates the agent or, when the slug exists in the
	// workspace, replaces its definition (bumping Version only when a field
	// changed). It reports whether anything was written.
	AgentUpsertBySlug(ctx context.Context, params *AgentCreateParams) (*Agent, bool, error)
}

type AgentCreateParams struct {
	Agent *Agent
	Now   time.Time
	// Actor is who publishes the version this write records (an API key's
	// name, "config"); RollbackFrom the version it restores, if any.
	Actor        string
	RollbackFrom *int
}

type AgentGetParams struct {
	ID          int64
	WorkspaceID int64
}

type AgentListParams struct {
	WorkspaceID int64
	// Query matches title, description and slug (case-insensitive substring).
	Query  string
	Type   string
	Limit  int
	Offset int
	Desc   bool
}

type AgentUpdateParams struct {
	Agent        *Agent
	Now          time.Time
	Actor        string
	RollbackFrom *int
}

// ExecutionStore persists executions and runs the lease protocol that keeps
// them durable: an execution is claimed under a lease that its worker renews;
// a lease that expires is recovered by the sweeper (ExecutionRequeueExpired).
type ExecutionStore interface {
	// ExecutionCreate inserts params.Execution with status queued (ID, RootID
	// when zero, CreatedAt and UpdatedAt set by the store) and, in the same
	// transaction, the job that will run it (the store's enqueue hook) and
	// its first event (EventStatus queued); the job id is stored as JobID.
	//
	// With a non-empty IdempotencyKey an existing execution of the same
	// workspace and key is returned instead, with created false; ECONFLICT
	// when its RequestHash differs.
	ExecutionCreate(ctx context.Context, params *ExecutionCreateParams) (exec *Execution, created bool, err error)
	// ExecutionGetByID returns ENOTFOUND when missing or in another workspace
	// (WorkspaceID zero skips the workspace check, for workers).
	ExecutionGetByID(ctx context.Context, params *ExecutionGetParams) (*Execution, error)
	// ExecutionList returns one page ordered by id and the total count.
	ExecutionList(ctx context.Context, params *ExecutionListParams) ([]*Execution, int, error)
	// ExecutionThread returns the executions of thread RootID with id below
	// BeforeID, oldest first, in the given workspace.
	ExecutionThread(ctx context.Context, params *ExecutionThreadParams) ([]*Execution, error)
	// ExecutionClaim moves a queued execution, or a running one whose lease
	// has expired, to running with Attempt incremented and a lease until
	// params.LeaseUntil, and appends EventStatus running. It returns
	// ECONFLICT when the execution is terminal or leased by a live worker,
	// EUNAVAILABLE when an earlier turn of its thread (a lower id with the
	// same RootID) is still queued or running — try again later — and
	// ENOTFOUND when it does not exist.
	ExecutionClaim(ctx context.Context, params *ExecutionClaimParams) (*Execution, error)
	// ExecutionHeartbeat extends the lease of a running execution at the
	// given attempt and reports whether a cancel was requested. ECONFLICT
	// when the attempt no longer holds it.
	ExecutionHeartbeat(ctx context.Context, params *ExecutionHeartbeatParams) (cancelRequested bool, err error)
	// ExecutionFinish writes the terminal state of a running execution at the
	// given attempt and, in the same transaction, appends params.Events and
	// then the EventDone event built from the params. ECONFLICT when the
	// attempt no longer holds it (the write is fenced: a late worker never
	// overwrites a terminal state).
	ExecutionFinish(ctx context.Context, params *ExecutionFinishParams) (*Execution, error)
	// ExecutionCancel cancels an execution: a queued one becomes cancelled at
	// once (with its EventDone); a running one gets CancelRequested set, for
	// its worker to act on. It returns the execution after the change;
	// ECONFLICT when it is already terminal, ENOTFOUND when missing or in
	// another workspace.
	ExecutionCancel(ctx context.Context, params *ExecutionCancelParams) (*Execution, error)
	// ExecutionRelease hands a running execution back (on shutdown) by
	// expiring its lease at params.Now, so the sweeper re-enqueues it at once.
	ExecutionRelease(ctx context.Context, params *ExecutionHeartbeatParams) error
	// ExecutionRequeueExpired recovers executions whose lease expired before
	// params.Now: each goes back to queued with a new job (and EventStatus
	// queued), or fails with a clear error (and EventDone) when it has
	// already been attempted MaxAttempts times. A running execution whose
	// cancel was requested is cancelled instead of requeued. It returns the
	// ids recovered and ended.
	ExecutionRequeueExpired(ctx context.Context, params *ExecutionRequeueParams) (requeued, failed []int64, err error)
}

type ExecutionCreateParams struct {
	Execution *Execution
	Now       time.Time
}

type ExecutionGetParams struct {
	ID          int64
	WorkspaceID int64
}

type ExecutionListParams struct {
	WorkspaceID int64
	AgentID     int64
	InstanceID  int64
	TriggerType string
	ContextType string
	ContextID   int64
	// CreatedAfter and CreatedBefore bound created_at when non-zero.
	CreatedAfter  time.Time
	CreatedBefore time.Time
	RootID        int64
	// AgentQuery matches the agent's title (case-insensitive substring).
	AgentQuery string
	Statuses   []Status
	Limit      int
	Offset     int
	Desc       bool
}

type ExecutionThreadParams struct {
	WorkspaceID int64
	RootID      int64
	BeforeID    int64
}

type ExecutionClaimParams struct {
	ID         int64
	Now        time.Time
	LeaseUntil time.Time
}

type ExecutionHeartbeatParams struct {
	ID         int64
	Attempt    int
	Now        time.Time
	LeaseUntil time.Time
}

type ExecutionFinishParams struct {
	ID      int64
	Attempt int
	Status  Status
	// StopReason says why the tool loop ended (StopFinalAnswer,
	// StopMaxIterations), empty when no loop ran.
	StopReason string
	Output     string
	// StructuredOutput is the parsed answer when the agent has an
	// output_schema.
	StructuredOutput json.RawMessage
	Error            string
	ModelUsed        string
	Usage            Usage
	Cost             float64
	Credits          float64
	// Events are appended before the EventDone event (the last deltas).
	Events []EventInput
	Now    time.Time
}

type ExecutionCancelParams struct {
	ID          int64
	WorkspaceID int64
	Now         time.Time
}

type ExecutionRequeueParams struct {
	Now         time.Time
	MaxAttempts int
	Limit       int
	// StaleJobBefore, when set, also re-enqueues queued executions whose
	// job a worker fetched before it and never claimed (the node died
	// between the fetch and the claim).
	StaleJobBefore time.Time
}

// EventStore persists the execution event log.
type EventStore interface {
	// EventAppend appends events to a running execution's log on behalf of
	// the attempt holding it, numbering them after the last one. ECONFLICT
	// when the attempt no longer holds the execution (the append is fenced
	// like every worker write), ENOTFOUND when it does not exist.
	EventAppend(ctx context.Context, params *EventAppendParams) ([]*Event, error)
	// EventListAfter returns up to Limit events with Seq > AfterSeq, in
	// order. ENOTFOUND when the execution does not exist or is in another
	// workspace (WorkspaceID zero skips the check).
	EventListAfter(ctx context.Context, params *EventListParams) ([]*Event, error)
	// EventDeleteBefore deletes the events of executions that reached a
	// terminal state before params.Before, up to Limit executions, and
	// returns how many events it deleted (retention).
	EventDeleteBefore(ctx context.Context, params *EventDeleteParams) (int, error)
}

type EventAppendParams struct {
	ExecutionID int64
	Attempt     int
	Events      []EventInput
	Now         time.Time
}

type EventListParams struct {
	ExecutionID int64
	WorkspaceID int64
	AfterSeq    int64
	Limit       int
}

type EventDeleteParams struct {
	Before time.Time
	Limit  int
}

// IterationStore persists the steps of the tool loop.
type IterationStore interface {
	// IterationAppend records steps of a running execution on behalf of the
	// attempt holding it; fenced like every worker write (ECONFLICT when the
	// attempt no longer holds it). A step number already recorded for that
	// attempt is ECONFLICT.
	IterationAppend(ctx context.Context, params *IterationAppendParams) error
	// IterationList returns the steps of the execution's latest attempt that
	// recorded any, in order. ENOTFOUND when the execution is missing or in
	// another workspace (WorkspaceID zero skips the check).
	IterationList(ctx context.Context, params *IterationListParams) ([]*Iteration, error)
}

type IterationAppendParams struct {
	ExecutionID int64
	Attempt     int
	Iterations  []*Iteration
	Now         time.Time
}

type IterationListParams struct {
	ExecutionID int64
	WorkspaceID int64
}

// InstanceStore persists agent instances.
type InstanceStore interface {
	// InstanceCreate inserts params.Instance (ID and times set by the store).
	// ENOTFOUND when its agent is missing or in another workspace.
	InstanceCreate(ctx context.Context, params *InstanceCreateParams) (*Instance, error)
	// InstanceGetByID returns ENOTFOUND when missing or in another workspace.
	InstanceGetByID(ctx context.Context, params *InstanceGetParams) (*Instance, error)
	// InstanceList returns one page of a workspace's instances ordered by id,
	// and the total; AgentID filters when non-zero.
	InstanceList(ctx context.Context, params *InstanceListParams) ([]*Instance, int, error)
	// InstanceUpdate replaces Name and Config. ENOTFOUND when missing.
	InstanceUpdate(ctx context.Context, params *InstanceUpdateParams) (*Instance, error)
	// InstanceDelete deletes an instance; its executions stay. ENOTFOUND
	// when missing.
	InstanceDelete(ctx context.Context, params *InstanceGetParams) error
}

type InstanceCreateParams struct {
	Instance *Instance
	Now      time.Time
}

type InstanceGetParams struct {
	ID          int64
	WorkspaceID int64
}

type InstanceListParams struct {
	WorkspaceID int64
	AgentID     int64
	Limit       int
	Offset      int
}

type InstanceUpdateParams struct {
	Instance *Instance
	Now      time.Time
}
