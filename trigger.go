package tessera

import (
	"context"
	"encoding/json"
	"time"
)

// AgentVersion is one published definition of an agent. Every write that
// changes a definition records one, in the same transaction.
type AgentVersion struct {
	AgentID int64 `json:"agent_id"`
	Version int   `json:"version"`
	// Snapshot is the agent as that version defined it.
	Snapshot    Agent  `json:"snapshot"`
	PublishedBy string `json:"published_by"`
	// RollbackFrom is the version this one restored, when it was a
	// rollback.
	RollbackFrom *int `json:"rollback_from_version"`
	// ChangeSummary names the fields that changed from the version before.
	ChangeSummary string    `json:"change_summary"`
	CreatedAt     time.Time `json:"created_at"`
}

// AgentVersionStore reads agent versions (AgentCreate, AgentUpdate and
// AgentUpsertBySlug write them).
type AgentVersionStore interface {
	// AgentVersionList returns one page of an agent's versions, newest
	// first, and the total. ENOTFOUND when the agent is missing or in
	// another workspace.
	AgentVersionList(ctx context.Context, params *AgentVersionListParams) ([]*AgentVersion, int, error)
	// AgentVersionGet returns one version. ENOTFOUND when the agent or the
	// version is missing.
	AgentVersionGet(ctx context.Context, params *AgentVersionGetParams) (*AgentVersion, error)
}

type AgentVersionListParams struct {
	WorkspaceID, AgentID int64
	Limit, Offset        int
}

type AgentVersionGetParams struct {
	WorkspaceID, AgentID int64
	Version              int
}

// Webhook statuses.
const (
	WebhookActive   = "active"
	WebhookInactive = "inactive"
)

// Webhook is a URL told when an agent's executions end.
type Webhook struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	AgentID     int64  `json:"agent_id"`
	URL         string `json:"url"`
	Method      string `json:"method"`
	Status      string `json:"status"`
	// Secret signs deliveries (HMAC-SHA256); shown when created.
	Secret       string     `json:"-"`
	SuccessCount int        `json:"success_count"`
	FailureCount int        `json:"failure_count"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	DeletedAt    *time.Time `json:"deleted_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one execution's delivery to one webhook, with its
// attempts so far.
type WebhookDelivery struct {
	ID          int64  `json:"id"`
	WebhookID   int64  `json:"webhook_id"`
	ExecutionID int64  `json:"execution_id"`
	WorkspaceID int64  `json:"workspace_id"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	// LastStatusCode and LastError describe the latest attempt.
	LastStatusCode int        `json:"last_status_code"`
	LastError      string     `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`

	// Set by DeliveryClaim for the sender: where and how to deliver.
	URL    string `json:"-"`
	Method string `json:"-"`
	Secret string `json:"-"`
}

// WebhookStore persists webhooks and their deliveries. ExecutionFinish
// queues a delivery to every active webhook of the execution's agent in
// the transaction that ends the execution, so none is lost.
type WebhookStore interface {
	// WebhookCreate inserts a webhook. ENOTFOUND when the agent is missing.
	WebhookCreate(ctx context.Context, params *WebhookCreateParams) (*Webhook, error)
	// WebhookList returns one page of the workspace's webhooks that are not
	// deleted, newest first, and the total; AgentID filters when non-zero.
	WebhookList(ctx context.Context, params *WebhookListParams) ([]*Webhook, int, error)
	// WebhookGet returns ENOTFOUND when missing, deleted or in another
	// workspace.
	WebhookGet(ctx context.Context, workspaceID, id int64) (*Webhook, error)
	// WebhookDelete marks a webhook deleted; its pending deliveries stop.
	WebhookDelete(ctx context.Context, workspaceID, id int64, now time.Time) error
	// DeliveryClaim leases up to limit pending deliveries due at now, for
	// lease, and returns them with their webhook's URL, method and secret.
	DeliveryClaim(ctx context.Context, params *DeliveryClaimParams) ([]*WebhookDelivery, error)
	// DeliveryRecord records an attempt: delivered, failed for good, or
	// pending again at NextAttemptAt. It counts the outcome on the webhook.
	DeliveryRecord(ctx context.Context, params *DeliveryRecordParams) error
	// DeliveryList returns one page of a webhook's deliveries, newest
	// first, and the total. ENOTFOUND when the webhook is missing.
	DeliveryList(ctx context.Context, params *DeliveryListParams) ([]*WebhookDelivery, int, error)
}

type WebhookCreateParams struct {
	Webhook *Webhook
	Now     time.Time
}

type WebhookListParams struct {
	WorkspaceID, AgentID int64
	Limit, Offset        int
}

type DeliveryClaimParams struct {
	Now   time.Time
	Lease time.Duration
	Limit int
}

type DeliveryRecordParams struct {
	ID         int64
	Status     string // DeliveryDelivered, DeliveryFailed or DeliveryPending
	StatusCode int
	Error      string
	// NextAttemptAt is when a pending delivery is tried again.
	NextAttemptAt time.Time
	Now           time.Time
}

type DeliveryListParams struct {
	WorkspaceID, WebhookID int64
	Limit, Offset          int
}

// TriggerStore keeps what verifies inbound events: an instance's trigger
// secret and the signatures already seen.
type TriggerStore interface {
	// InstanceSetTriggerSecret sets (or rotates) an instance's secret.
	// ENOTFOUND when the instance is missing.
	InstanceSetTriggerSecret(ctx context.Context, workspaceID, instanceID int64, secret string, now time.Time) error
	// TriggerSeen records a signature of an instance's event; ECONFLICT
	// when it was recorded before (a replay). It forgets signatures older
	// than forgetBefore.
	TriggerSeen(ctx context.Context, instanceID int64, signature string, now, forgetBefore time.Time) error
}

// Schedule runs an agent (or an instance) on a cron expression.
type Schedule struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	AgentID     int64  `json:"agent_id"`
	InstanceID  *int64 `json:"instance_id"`
	Name        string `json:"name"`
	// Cron is a five-field expression (minute hour day month weekday) or a
	// descriptor such as @hourly, read in Timezone (IANA, default UTC).
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	// Input is the fixed input data of each run.
	Input   json.RawMessage `json:"input"`
	Enabled bool            `json:"enabled"`
	// NextRunAt is the next time it fires; nil when disabled.
	NextRunAt       *time.Time `json:"next_run_at"`
	LastRunAt       *time.Time `json:"last_run_at"`
	LastExecutionID *int64     `json:"last_execution_id"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// ScheduleStore persists schedules.
type ScheduleStore interface {
	// ScheduleCreate inserts a schedule. ENOTFOUND when its agent (or
	// instance) is missing or in another workspace.
	ScheduleCreate(ctx context.Context, params *ScheduleCreateParams) (*Schedule, error)
	// ScheduleGet returns ENOTFOUND when missing or in another workspace.
	ScheduleGet(ctx context.Context, workspaceID, id int64) (*Schedule, error)
	// ScheduleList returns one page of a workspace's schedules by id, and
	// the total; AgentID filters when non-zero.
	ScheduleList(ctx context.Context, params *ScheduleListParams) ([]*Schedule, int, error)
	// ScheduleUpdate replaces Name, Cron, Timezone, Input, Enabled and
	// NextRunAt. ENOTFOUND when missing.
	ScheduleUpdate(ctx context.Context, params *ScheduleUpdateParams) (*Schedule, error)
	// ScheduleDelete deletes a schedule. ENOTFOUND when missing.
	ScheduleDelete(ctx context.Context, workspaceID, id int64) error
	// ScheduleDue returns up to limit enabled schedules whose NextRunAt is
	// at or before now, across workspaces.
	ScheduleDue(ctx context.Context, now time.Time, limit int) ([]*Schedule, error)
	// ScheduleAdvance moves a schedule that fired from its NextRunAt
	// (which must still be from) to next, recording the run; it reports
	// false when another node advanced it first.
	ScheduleAdvance(ctx context.Context, params *ScheduleAdvanceParams) (bool, error)
}

type ScheduleCreateParams struct {
	Schedule *Schedule
	Now      time.Time
}

type ScheduleListParams struct {
	WorkspaceID, AgentID int64
	Limit, Offset        int
}

type ScheduleUpdateParams struct {
	Schedule *Schedule
	Now      time.Time
}

type ScheduleAdvanceParams struct {
	ID          int64
	From, Next  time.Time
	ExecutionID int64
	Now         time.Time
}
