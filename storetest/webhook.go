package storetest

import (
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

func testAgentVersions(t *testing.T, newStore NewStore) {
	t.Run("EveryWriteRecordsAVersion", func(t *testing.T) {
		f := setup(t, newStore)
		a, err := f.store.AgentCreate(f.ctx, &tessera.AgentCreateParams{Agent: f.fullAgent("v"), Now: f.now, Actor: "key:ops"})
		ok(t, err)
		changed := *a
		changed.Instructions, changed.Tools = "Be thorough.", []string{"calculator"}
		b, err := f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: &changed, Now: f.at(time.Minute), Actor: "key:dev"})
		ok(t, err)
		back := *b
		back.Instructions, back.Tools = a.Instructions, a.Tools
		one := 1
		_, err = f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: &back, Now: f.at(2 * time.Minute), Actor: "key:dev", RollbackFrom: &one})
		ok(t, err)

		list, total, err := f.store.AgentVersionList(f.ctx, &tessera.AgentVersionListParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Limit: 10})
		ok(t, err)
		equal(t, "total", total, 3)
		if len(list) != 3 || list[0].Version != 3 || list[2].Version != 1 {
			t.Fatalf("versions = %+v, want 3, 2, 1", list)
		}
		equal(t, "v1 summary", list[2].ChangeSummary, "created")
		equal(t, "v1 by", list[2].PublishedBy, "key:ops")
		equal(t, "v2 summary", list[1].ChangeSummary, "instructions, tools")
		if list[0].RollbackFrom == nil || *list[0].RollbackFrom != 1 || list[1].RollbackFrom != nil {
			t.Errorf("rollback_from = %v, %v", list[0].RollbackFrom, list[1].RollbackFrom)
		}
		sameTime(t, "v2 created", list[1].CreatedAt, f.at(time.Minute))

		v2, err := f.store.AgentVersionGet(f.ctx, &tessera.AgentVersionGetParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Version: 2})
		ok(t, err)
		equal(t, "v2 instructions", v2.Snapshot.Instructions, "Be thorough.")
		equal(t, "v2 snapshot version", v2.Snapshot.Version, 2)
		equal(t, "v2 http tools kept", len(v2.Snapshot.HTTPTools), 1)

		page, _, err := f.store.AgentVersionList(f.ctx, &tessera.AgentVersionListParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Limit: 1, Offset: 1})
		ok(t, err)
		if len(page) != 1 || page[0].Version != 2 {
			t.Errorf("page 2 of 1 = %+v", page)
		}
	})

	t.Run("UpsertRecordsOnlyChanges", func(t *testing.T) {
		f := setup(t, newStore)
		def := f.fullAgent("cfg")
		a, _, err := f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: def, Now: f.now, Actor: "config"})
		ok(t, err)
		_, _, err = f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: f.fullAgent("cfg"), Now: f.now, Actor: "config"})
		ok(t, err)
		changed := f.fullAgent("cfg")
		changed.Title = "Renamed"
		_, _, err = f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: changed, Now: f.now, Actor: "config"})
		ok(t, err)
		list, total, err := f.store.AgentVersionList(f.ctx, &tessera.AgentVersionListParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Limit: 10})
		ok(t, err)
		equal(t, "total", total, 2)
		equal(t, "v2 summary", list[0].ChangeSummary, "title")
	})

	t.Run("OtherWorkspaceAndMissing", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("mine"))
		_, _, err := f.store.AgentVersionList(f.ctx, &tessera.AgentVersionListParams{WorkspaceID: f.other.ID, AgentID: a.ID, Limit: 10})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.AgentVersionGet(f.ctx, &tessera.AgentVersionGetParams{WorkspaceID: f.other.ID, AgentID: a.ID, Version: 1})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.AgentVersionGet(f.ctx, &tessera.AgentVersionGetParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Version: 9})
		wantCode(t, err, tessera.ENOTFOUND)
	})
}

func (f *fixture) createWebhook(agentID int64, status string) *tessera.Webhook {
	f.t.Helper()
	w, err := f.store.WebhookCreate(f.ctx, &tessera.WebhookCreateParams{Now: f.now, Webhook: &tessera.Webhook{
		WorkspaceID: f.ws.ID, AgentID: agentID, URL: "https://hooks.example.com/in", Method: "POST", Status: status, Secret: "whsec_x",
	}})
	ok(f.t, err)
	return w
}

// finishExec runs an execution of agentID to completion.
func (f *fixture) finishExec(agentID int64) *tessera.Execution {
	f.t.Helper()
	e := f.createExec(f.newExec(agentID))
	f.claim(e.ID, f.now, time.Minute)
	done, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
		Status: tessera.StatusCompleted, Output: "ok", Now: f.now})
	ok(f.t, err)
	return done
}

func testWebhooks(t *testing.T, newStore NewStore) {
	t.Run("CRUD", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		w := f.createWebhook(a.ID, tessera.WebhookActive)
		if w.ID == 0 || w.Secret != "whsec_x" || w.SuccessCount != 0 || w.DeletedAt != nil {
			t.Fatalf("created = %+v", w)
		}
		got, err := f.store.WebhookGet(f.ctx, f.ws.ID, w.ID)
		ok(t, err)
		sameJSON(t, "get", got, w)
		second := f.createWebhook(a.ID, tessera.WebhookInactive)
		list, total, err := f.store.WebhookList(f.ctx, &tessera.WebhookListParams{WorkspaceID: f.ws.ID, AgentID: a.ID, Limit: 10})
		ok(t, err)
		if total != 2 || list[0].ID != second.ID {
			t.Errorf("list = %+v total %d, want newest first", list, total)
		}
		_, err = f.store.WebhookGet(f.ctx, f.other.ID, w.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.WebhookDelete(f.ctx, f.other.ID, w.ID, f.now), tessera.ENOTFOUND)
		ok(t, f.store.WebhookDelete(f.ctx, f.ws.ID, w.ID, f.now))
		_, err = f.store.WebhookGet(f.ctx, f.ws.ID, w.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.WebhookDelete(f.ctx, f.ws.ID, w.ID, f.now), tessera.ENOTFOUND)
		_, total, err = f.store.WebhookList(f.ctx, &tessera.WebhookListParams{WorkspaceID: f.ws.ID, Limit: 10})
		ok(t, err)
		equal(t, "total after delete", total, 1)
		_, err = f.store.WebhookCreate(f.ctx, &tessera.WebhookCreateParams{Now: f.now, Webhook: &tessera.Webhook{
			WorkspaceID: f.other.ID, AgentID: a.ID, URL: "https://x.example", Method: "POST", Status: "active"}})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("FinishQueuesDeliveriesToActiveWebhooks", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		other := f.createAgent(f.newAgent("b"))
		active := f.createWebhook(a.ID, tessera.WebhookActive)
		f.createWebhook(a.ID, tessera.WebhookInactive)
		f.createWebhook(other.ID, tessera.WebhookActive)
		done := f.finishExec(a.ID)

		claimed, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.now, Lease: time.Minute, Limit: 10})
		ok(t, err)
		if len(claimed) != 1 || claimed[0].WebhookID != active.ID || claimed[0].ExecutionID != done.ID ||
			claimed[0].URL != active.URL || claimed[0].Secret != "whsec_x" || claimed[0].Method != "POST" {
			t.Fatalf("claimed = %+v", claimed)
		}
		// Leased: not claimed again until the lease ends.
		again, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.at(30 * time.Second), Lease: time.Minute, Limit: 10})
		ok(t, err)
		equal(t, "claimed while leased", len(again), 0)

		d := claimed[0]
		ok(t, f.store.DeliveryRecord(f.ctx, &tessera.DeliveryRecordParams{ID: d.ID, Status: tessera.DeliveryPending,
			StatusCode: 500, Error: "HTTP 500", NextAttemptAt: f.at(time.Hour), Now: f.at(time.Second)}))
		none, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.at(2 * time.Minute), Lease: time.Minute, Limit: 10})
		ok(t, err)
		equal(t, "claimed before its retry time", len(none), 0)
		retry, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.at(time.Hour), Lease: time.Minute, Limit: 10})
		ok(t, err)
		equal(t, "claimed at its retry time", len(retry), 1)
		ok(t, f.store.DeliveryRecord(f.ctx, &tessera.DeliveryRecordParams{ID: d.ID, Status: tessera.DeliveryDelivered,
			StatusCode: 204, Now: f.at(time.Hour)}))
		wantCode(t, f.store.DeliveryRecord(f.ctx, &tessera.DeliveryRecordParams{ID: d.ID, Status: tessera.DeliveryDelivered, Now: f.at(time.Hour)}), tessera.ECONFLICT)

		log, total, err := f.store.DeliveryList(f.ctx, &tessera.DeliveryListParams{WorkspaceID: f.ws.ID, WebhookID: active.ID, Limit: 10})
		ok(t, err)
		if total != 1 || log[0].Status != tessera.DeliveryDelivered || log[0].Attempts != 2 || log[0].LastStatusCode != 204 ||
			log[0].DeliveredAt == nil || log[0].NextAttemptAt != nil {
			t.Errorf("delivery log = %+v", log)
		}
		w, err := f.store.WebhookGet(f.ctx, f.ws.ID, active.ID)
		ok(t, err)
		if w.SuccessCount != 1 || w.FailureCount != 1 {
			t.Errorf("counts = %d/%d, want 1/1", w.SuccessCount, w.FailureCount)
		}
		_, _, err = f.store.DeliveryList(f.ctx, &tessera.DeliveryListParams{WorkspaceID: f.other.ID, WebhookID: active.ID, Limit: 10})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("CancelQueuesDeliveries", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		f.createWebhook(a.ID, tessera.WebhookActive)
		e := f.createExec(f.newExec(a.ID))
		_, err := f.store.ExecutionCancel(f.ctx, &tessera.ExecutionCancelParams{ID: e.ID, WorkspaceID: f.ws.ID, Now: f.now})
		ok(t, err)
		claimed, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.now, Lease: time.Minute, Limit: 10})
		ok(t, err)
		if len(claimed) != 1 || claimed[0].ExecutionID != e.ID {
			t.Errorf("claimed = %+v, want the cancelled execution's delivery", claimed)
		}
	})

	t.Run("DeleteStopsPendingDeliveries", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		w := f.createWebhook(a.ID, tessera.WebhookActive)
		f.finishExec(a.ID)
		ok(t, f.store.WebhookDelete(f.ctx, f.ws.ID, w.ID, f.now))
		claimed, err := f.store.DeliveryClaim(f.ctx, &tessera.DeliveryClaimParams{Now: f.at(time.Hour), Lease: time.Minute, Limit: 10})
		ok(t, err)
		equal(t, "claimed after delete", len(claimed), 0)
	})
}

func testTriggers(t *testing.T, newStore NewStore) {
	t.Run("SecretAndReplays", func(t *testing.T) { testTriggerSeen(t, newStore) })
}

func testTriggerSeen(t *testing.T, newStore NewStore) {
	f := setup(t, newStore)
	a := f.createAgent(f.newAgent("a"))
	in, err := f.store.InstanceCreate(f.ctx, &tessera.InstanceCreateParams{Now: f.now, Instance: &tessera.Instance{
		WorkspaceID: f.ws.ID, AgentID: a.ID, Name: "i"}})
	ok(t, err)
	equal(t, "no secret yet", in.TriggerSecret, "")
	ok(t, f.store.InstanceSetTriggerSecret(f.ctx, f.ws.ID, in.ID, "s3", f.now))
	got, err := f.store.InstanceGetByID(f.ctx, &tessera.InstanceGetParams{ID: in.ID, WorkspaceID: f.ws.ID})
	ok(t, err)
	equal(t, "secret", got.TriggerSecret, "s3")
	wantCode(t, f.store.InstanceSetTriggerSecret(f.ctx, f.other.ID, in.ID, "x", f.now), tessera.ENOTFOUND)

	ok(t, f.store.TriggerSeen(f.ctx, in.ID, "sig-1", f.now, f.at(-5*time.Minute)))
	wantCode(t, f.store.TriggerSeen(f.ctx, in.ID, "sig-1", f.at(time.Minute), f.at(-4*time.Minute)), tessera.ECONFLICT)
	ok(t, f.store.TriggerSeen(f.ctx, in.ID+1, "sig-1", f.now, f.at(-5*time.Minute)))
	// Past the window it is forgotten (the timestamp check refuses it then).
	ok(t, f.store.TriggerSeen(f.ctx, in.ID, "sig-1", f.at(time.Hour), f.at(time.Hour-5*time.Minute)))
}
