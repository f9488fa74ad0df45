package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

var _ tessera.WebhookStore = (*Store)(nil)

const webhookColumns = `id, workspace_id, agent_id, url, method, status, secret, success_count, failure_count,
	created_at, updated_at, deleted_at`

// WebhookCreate inserts params.Webhook. ENOTFOUND when its agent does not
// exist in its workspace.
func (s *Store) WebhookCreate(ctx context.Context, params *tessera.WebhookCreateParams) (*tessera.Webhook, error) {
	if params.Now.IsZero() {
		return nil, wrap("webhook create", errNoNow)
	}
	w := params.Webhook
	created, err := scanWebhook(s.pool.QueryRow(ctx, `INSERT INTO webhooks
		(workspace_id, agent_id, url, method, status, secret, created_at, updated_at)
		SELECT workspace_id, id, $1, $2, $3, $4, $5, $5 FROM agents WHERE id = $6 AND workspace_id = $7
		RETURNING `+webhookColumns, w.URL, w.Method, w.Status, w.Secret, ts(params.Now), w.AgentID, w.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", w.AgentID)
	}
	if err != nil {
		return nil, wrap("webhook create", err)
	}
	return created, nil
}

// WebhookList returns one page of the workspace's live webhooks, newest
// first.
func (s *Store) WebhookList(ctx context.Context, params *tessera.WebhookListParams) ([]*tessera.Webhook, int, error) {
	var w where
	w.add("workspace_id = " + w.arg(params.WorkspaceID))
	w.add("deleted_at IS NULL")
	if params.AgentID != 0 {
		w.add("agent_id = " + w.arg(params.AgentID))
	}
	list, total, err := listPage(ctx, s, listQuery{table: "webhooks", columns: webhookColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: true}, scanWebhook)
	if err != nil {
		return nil, 0, wrap("webhook list", err)
	}
	return list, total, nil
}

// WebhookGet returns ENOTFOUND when missing, deleted or in another
// workspace.
func (s *Store) WebhookGet(ctx context.Context, workspaceID, id int64) (*tessera.Webhook, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL`, id, workspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "webhook %d not found", id)
	}
	if err != nil {
		return nil, wrap("webhook get", err)
	}
	return w, nil
}

// WebhookDelete marks a webhook deleted and fails its pending deliveries.
func (s *Store) WebhookDelete(ctx context.Context, workspaceID, id int64, now time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE webhooks SET deleted_at = $1, updated_at = $1
			WHERE id = $2 AND workspace_id = $3 AND deleted_at IS NULL`, ts(now), id, workspaceID)
		if err := oneRow(tag, err, "webhook %d not found", id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'the webhook was deleted',
			next_attempt_at = NULL, lease_until = NULL, updated_at = $1 WHERE webhook_id = $2 AND status = 'pending'`, ts(now), id)
		return err
	})
	return wrap("webhook delete", err)
}

const deliveryColumns = `d.id, d.webhook_id, d.execution_id, d.workspace_id, d.status, d.attempts, d.last_status_code,
	d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, d.updated_at`

// DeliveryClaim leases due pending deliveries. FOR UPDATE SKIP LOCKED lets
// several nodes claim at once without taking the same row.
func (s *Store) DeliveryClaim(ctx context.Context, params *tessera.DeliveryClaimParams) ([]*tessera.WebhookDelivery, error) {
	var list []*tessera.WebhookDelivery
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE webhook_deliveries AS d SET lease_until = $2
			FROM (SELECT id FROM webhook_deliveries
				WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) AS due, webhooks AS w
			WHERE d.id = due.id AND w.id = d.webhook_id
			RETURNING `+deliveryColumns+`, w.url, w.method, w.secret`,
			ts(params.Now), ts(params.Now.Add(params.Lease)), max(params.Limit, 1))
		if err != nil {
			return err
		}
		list, err = collect(rows, func(r pgx.Row) (*tessera.WebhookDelivery, error) { return scanDelivery(r, true) })
		return err
	})
	if err != nil {
		return nil, wrap("delivery claim", err)
	}
	return list, nil
}

// DeliveryRecord records an attempt and counts its outcome on the webhook.
func (s *Store) DeliveryRecord(ctx context.Context, params *tessera.DeliveryRecordParams) error {
	now := ts(params.Now)
	var next, delivered *time.Time
	switch params.Status {
	case tessera.DeliveryPending:
		t := ts(params.NextAttemptAt)
		next = &t
	case tessera.DeliveryDelivered:
		delivered = &now
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var webhookID int64
		err := tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,
			last_status_code = $2, last_error = $3, next_attempt_at = $4, delivered_at = $5, lease_until = NULL, updated_at = $6
			WHERE id = $7 AND status = 'pending' RETURNING webhook_id`,
			params.Status, params.StatusCode, params.Error, next, delivered, now, params.ID).Scan(&webhookID)
		if errors.Is(err, pgx.ErrNoRows) {
			return tessera.Errorf(tessera.ECONFLICT, "delivery %d is not pending", params.ID)
		}
		if err != nil {
			return err
		}
		counter := "failure_count"
		if params.Status == tessera.DeliveryDelivered {
			counter = "success_count"
		}
		_, err = tx.Exec(ctx, `UPDATE webhooks SET `+counter+` = `+counter+` + 1 WHERE id = $1`, webhookID)
		return err
	})
	return wrap("delivery record", err)
}

// DeliveryList returns one page of a webhook's deliveries, newest first.
func (s *Store) DeliveryList(ctx context.Context, params *tessera.DeliveryListParams) ([]*tessera.WebhookDelivery, int, error) {
	if _, err := s.WebhookGet(ctx, params.WorkspaceID, params.WebhookID); err != nil {
		return nil, 0, err
	}
	var w where
	w.add("d.webhook_id = " + w.arg(params.WebhookID))
	list, total, err := listPage(ctx, s, listQuery{table: "webhook_deliveries AS d", columns: deliveryColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: true}, func(r pgx.Row) (*tessera.WebhookDelivery, error) { return scanDelivery(r, false) })
	if err != nil {
		return nil, 0, wrap("delivery list", err)
	}
	return list, total, nil
}

func scanWebhook(row pgx.Row) (*tessera.Webhook, error) {
	var w tessera.Webhook
	var created, updated time.Time
	var deleted *time.Time
	err := row.Scan(&w.ID, &w.WorkspaceID, &w.AgentID, &w.URL, &w.Method, &w.Status, &w.Secret, &w.SuccessCount,
		&w.FailureCount, &created, &updated, &deleted)
	if err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.DeletedAt = utc(created), utc(updated), utcPtr(deleted)
	return &w, nil
}

func scanDelivery(row pgx.Row, target bool) (*tessera.WebhookDelivery, error) {
	var d tessera.WebhookDelivery
	var next, delivered *time.Time
	var created, updated time.Time
	dest := []any{&d.ID, &d.WebhookID, &d.ExecutionID, &d.WorkspaceID, &d.Status, &d.Attempts, &d.LastStatusCode,
		&d.LastError, &next, &delivered, &created, &updated}
	if target {
		dest = append(dest, &d.URL, &d.Method, &d.Secret)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.DeliveredAt = utcPtr(next), utcPtr(delivered)
	d.CreatedAt, d.UpdatedAt = utc(created), utc(updated)
	return &d, nil
}

// queueDeliveries queues a delivery of execution id to every live, active
// webhook of its agent; the writes that end an execution call it in their
// transaction.
func queueDeliveries(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries
		(webhook_id, execution_id, workspace_id, status, next_attempt_at, created_at, updated_at)
		SELECT w.id, x.id, x.workspace_id, 'pending', $1, $1, $1 FROM executions AS x
		JOIN webhooks AS w ON w.agent_id = x.agent_id AND w.workspace_id = x.workspace_id
		WHERE x.id = $2 AND w.status = 'active' AND w.deleted_at IS NULL
		ON CONFLICT (webhook_id, execution_id) DO NOTHING`, now, id)
	return err
}

var _ tessera.TriggerStore = (*Store)(nil)

// InstanceSetTriggerSecret sets an instance's secret for signed events.
func (s *Store) InstanceSetTriggerSecret(ctx context.Context, workspaceID, instanceID int64, secret string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE agent_instances SET trigger_secret = $1, updated_at = $2
		WHERE id = $3 AND workspace_id = $4`, secret, ts(now), instanceID, workspaceID)
	return wrap("instance trigger secret", oneRow(tag, err, "instance %d not found", instanceID))
}

// TriggerSeen records a signature; ECONFLICT when it was seen before. The
// primary key makes two nodes receiving the same event at once refuse one.
func (s *Store) TriggerSeen(ctx context.Context, instanceID int64, signature string, now, forgetBefore time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM trigger_signatures WHERE seen_at < $1`, ts(forgetBefore)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO trigger_signatures (instance_id, signature, seen_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, instanceID, signature, ts(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return tessera.Errorf(tessera.ECONFLICT, "this event was already received")
		}
		return nil
	})
	return wrap("trigger seen", err)
}
