package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

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
	w, now := params.Webhook, micros(params.Now)
	created, err := scanWebhook(s.db.QueryRowContext(ctx, `INSERT INTO webhooks
		(workspace_id, agent_id, url, method, status, secret, created_at, updated_at)
		SELECT workspace_id, id, ?, ?, ?, ?, ?, ? FROM agents WHERE id = ? AND workspace_id = ?
		RETURNING `+webhookColumns, w.URL, w.Method, w.Status, w.Secret, now, now, w.AgentID, w.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", w.AgentID)
	}
	return created, wrap("webhook create", err)
}

// WebhookList returns one page of the workspace's live webhooks, newest
// first.
func (s *Store) WebhookList(ctx context.Context, params *tessera.WebhookListParams) ([]*tessera.Webhook, int, error) {
	var w where
	w.add("workspace_id = ?", params.WorkspaceID)
	w.add("deleted_at IS NULL")
	if params.AgentID != 0 {
		w.add("agent_id = ?", params.AgentID)
	}
	list, total, err := listPage(ctx, s, listQuery{table: "webhooks", columns: webhookColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: true}, scanWebhook)
	return list, total, wrap("webhook list", err)
}

// WebhookGet returns ENOTFOUND when missing, deleted or in another
// workspace.
func (s *Store) WebhookGet(ctx context.Context, workspaceID, id int64) (*tessera.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks
		WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL`, id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "webhook %d not found", id)
	}
	return w, wrap("webhook get", err)
}

// WebhookDelete marks a webhook deleted and fails its pending deliveries.
func (s *Store) WebhookDelete(ctx context.Context, workspaceID, id int64, now time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET deleted_at = ?, updated_at = ?
			WHERE id = ? AND workspace_id = ? AND deleted_at IS NULL`, micros(now), micros(now), id, workspaceID)
		if err := oneRow(res, err, "webhook %d not found", id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_error = 'the webhook was deleted',
			next_attempt_at = NULL, lease_until = NULL, updated_at = ? WHERE webhook_id = ? AND status = 'pending'`, micros(now), id)
		return err
	})
	return wrap("webhook delete", err)
}

const deliveryColumns = `d.id, d.webhook_id, d.execution_id, d.workspace_id, d.status, d.attempts, d.last_status_code,
	d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, d.updated_at`

// DeliveryClaim leases due pending deliveries. SQLite has one writer, so
// the select and the lease in one transaction cannot race another node.
func (s *Store) DeliveryClaim(ctx context.Context, params *tessera.DeliveryClaimParams) ([]*tessera.WebhookDelivery, error) {
	now, until := micros(params.Now), micros(params.Now.Add(params.Lease))
	// Every node polls every few seconds; a read first keeps an idle poll
	// from taking SQLite's one write lock.
	var due int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries
		WHERE status = 'pending' AND next_attempt_at <= ? LIMIT 1)`, now).Scan(&due)
	if err != nil || due == 0 {
		return nil, wrap("delivery claim", err)
	}
	var list []*tessera.WebhookDelivery
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+`, w.url, w.method, w.secret
			FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
			ORDER BY d.next_attempt_at LIMIT ?`, now, now, max(params.Limit, 1))
		if err != nil {
			return err
		}
		list, err = collect(rows, func(r scanner) (*tessera.WebhookDelivery, error) { return scanDelivery(r, true) })
		if err != nil {
			return err
		}
		for _, d := range list {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET lease_until = ? WHERE id = ?`, until, d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return list, wrap("delivery claim", err)
}

// DeliveryRecord records an attempt and counts its outcome on the webhook.
func (s *Store) DeliveryRecord(ctx context.Context, params *tessera.DeliveryRecordParams) error {
	now := micros(params.Now)
	var next, delivered any
	switch params.Status {
	case tessera.DeliveryPending:
		next = micros(params.NextAttemptAt)
	case tessera.DeliveryDelivered:
		delivered = now
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var webhookID int64
		err := tx.QueryRowContext(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1,
			last_status_code = ?, last_error = ?, next_attempt_at = ?, delivered_at = ?, lease_until = NULL, updated_at = ?
			WHERE id = ? AND status = 'pending' RETURNING webhook_id`,
			params.Status, params.StatusCode, params.Error, next, delivered, now, params.ID).Scan(&webhookID)
		if errors.Is(err, sql.ErrNoRows) {
			return tessera.Errorf(tessera.ECONFLICT, "delivery %d is not pending", params.ID)
		}
		if err != nil {
			return err
		}
		counter := "failure_count"
		if params.Status == tessera.DeliveryDelivered {
			counter = "success_count"
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET `+counter+` = `+counter+` + 1 WHERE id = ?`, webhookID)
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
	w.add("d.webhook_id = ?", params.WebhookID)
	list, total, err := listPage(ctx, s, listQuery{table: "webhook_deliveries AS d", columns: deliveryColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: true}, func(r scanner) (*tessera.WebhookDelivery, error) { return scanDelivery(r, false) })
	return list, total, wrap("delivery list", err)
}

func scanWebhook(row scanner) (*tessera.Webhook, error) {
	var w tessera.Webhook
	var created, updated int64
	var deleted sql.NullInt64
	err := row.Scan(&w.ID, &w.WorkspaceID, &w.AgentID, &w.URL, &w.Method, &w.Status, &w.Secret, &w.SuccessCount,
		&w.FailureCount, &created, &updated, &deleted)
	if err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt, w.DeletedAt = fromMicros(created), fromMicros(updated), timePtr(deleted)
	return &w, nil
}

func scanDelivery(row scanner, target bool) (*tessera.WebhookDelivery, error) {
	var d tessera.WebhookDelivery
	var next, delivered sql.NullInt64
	var created, updated int64
	dest := []any{&d.ID, &d.WebhookID, &d.ExecutionID, &d.WorkspaceID, &d.Status, &d.Attempts, &d.LastStatusCode,
		&d.LastError, &next, &delivered, &created, &updated}
	if target {
		dest = append(dest, &d.URL, &d.Method, &d.Secret)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.DeliveredAt = timePtr(next), timePtr(delivered)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &d, nil
}

// queueDeliveries queues a delivery of execution id to every live, active
// webhook of its agent; ExecutionFinish calls it in its transaction.
func queueDeliveries(ctx context.Context, tx *sql.Tx, id int64, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
		(webhook_id, execution_id, workspace_id, status, next_attempt_at, created_at, updated_at)
		SELECT w.id, x.id, x.workspace_id, 'pending', ?, ?, ? FROM executions AS x
		JOIN webhooks AS w ON w.agent_id = x.agent_id AND w.workspace_id = x.workspace_id
		WHERE x.id = ? AND w.status = 'active' AND w.deleted_at IS NULL
		ON CONFLICT (webhook_id, execution_id) DO NOTHING`, now, now, now, id)
	return err
}

var _ tessera.TriggerStore = (*Store)(nil)

// InstanceSetTriggerSecret sets an instance's secret for signed events.
func (s *Store) InstanceSetTriggerSecret(ctx context.Context, workspaceID, instanceID int64, secret string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE agent_instances SET trigger_secret = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ?`, secret, micros(now), instanceID, workspaceID)
	return wrap("instance trigger secret", oneRow(res, err, "instance %d not found", instanceID))
}

// TriggerSeen records a signature; ECONFLICT when it was seen before.
func (s *Store) TriggerSeen(ctx context.Context, instanceID int64, signature string, now, forgetBefore time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM trigger_signatures WHERE seen_at < ?`, micros(forgetBefore)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO trigger_signatures (instance_id, signature, seen_at) VALUES (?, ?, ?)`,
			instanceID, signature, micros(now))
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "this event was already received")
		}
		return err
	})
	return wrap("trigger seen", err)
}
