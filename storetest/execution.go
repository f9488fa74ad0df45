package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

func testExecutions(t *testing.T, newStore NewStore) {
	t.Run("Create", func(t *testing.T) {
		f := setup(t, newStore)
		in := f.newExec(7)
		// The store decides these.
		in.Status, in.Attempt, in.LastEventSeq, in.CancelRequested = tessera.StatusRunning, 3, 9, true
		in.TimeoutMS = 90_000
		e := f.createExec(in)
		if e.ID == 0 {
			t.Fatal("ID = 0")
		}
		equal(t, "Status", e.Status, tessera.StatusQueued)
		equal(t, "RootID", e.RootID, e.ID)
		equal(t, "Attempt", e.Attempt, 0)
		equal(t, "CancelRequested", e.CancelRequested, false)
		equal(t, "LastEventSeq", e.LastEventSeq, int64(1)) // its status event
		equal(t, "TimeoutMS", e.TimeoutMS, int64(90_000))
		equal(t, "enqueued", f.enq.ExecutionIDs(), []int64{e.ID})
		equal(t, "JobID", e.JobID, int64(firstJobID))
		sameTime(t, "CreatedAt", e.CreatedAt, f.now)
		sameTime(t, "UpdatedAt", e.UpdatedAt, f.now)
		if e.LeaseExpiresAt != nil || e.StartedAt != nil || e.CompletedAt != nil {
			t.Fatalf("lease, started, completed = %v, %v, %v; want nil", e.LeaseExpiresAt, e.StartedAt, e.CompletedAt)
		}
		sameJSON(t, "get", f.getExec(e.ID), e)
	})

	t.Run("ExplicitRootID", func(t *testing.T) {
		f := setup(t, newStore)
		root := f.createExec(f.newExec(7))
		in := f.newExec(7)
		in.RootID = root.ID
		child := f.createExec(in)
		equal(t, "RootID", child.RootID, root.ID)
	})

	t.Run("RoundTrip", func(t *testing.T) {
		f := setup(t, newStore)
		key := f.createKey("k", f.ws.ID)
		in := f.newExec(7)
		in.Inputs = map[string]any{
			"topic": "cats", "n": 3.5, "ok": true, "none": nil,
			"list": []any{"a", 1.0}, "obj": map[string]any{"k": "v"},
		}
		in.Messages = []tessera.Message{
			{Role: tessera.RoleDeveloper, Content: "be brief"},
			{Role: tessera.RoleUser, Content: "hi"},
			{Role: tessera.RoleAssistant, Content: "hello"},
			{Role: tessera.RoleUser, Content: "ünïcødé ✓"},
		}
		in.APIKeyID, in.Temperature, in.Tools = &key.ID, ptr(0.0), "web_search,http"
		in.IdempotencyKey, in.RequestHash = "idem", "hash"
		in.TimeoutMS = 1_500
		in.Metadata = json.RawMessage(`{"source":"test","n":[1,2]}`)
		in.InstanceID, in.ContextType, in.ContextID = ptr(int64(5)), "deal", ptr(int64(42))
		in.MaxIterations, in.StopReason = 6, tessera.StopFinalAnswer
		e := f.createExec(in)
		sameJSON(t, "created", f.getExec(e.ID), e)

		got := f.getExec(e.ID)
		equal(t, "Inputs", got.Inputs, in.Inputs)
		equal(t, "Messages", got.Messages, in.Messages)
		equal(t, "APIKeyID", *got.APIKeyID, key.ID)
		equal(t, "Temperature", got.Temperature, ptr(0.0))
		equal(t, "Tools", got.Tools, in.Tools)
		equal(t, "Metadata", string(got.Metadata), string(in.Metadata))
		equal(t, "IdempotencyKey", got.IdempotencyKey, "idem")
		equal(t, "RequestHash", got.RequestHash, "hash")
		equal(t, "TimeoutMS", got.TimeoutMS, int64(1_500))
		equal(t, "InstanceID", got.InstanceID, ptr(int64(5)))
		equal(t, "ContextType", got.ContextType, "deal")
		equal(t, "ContextID", got.ContextID, ptr(int64(42)))
		equal(t, "MaxIterations", got.MaxIterations, 6)
		equal(t, "StopReason", got.StopReason, tessera.StopFinalAnswer)

		// A zero context id is an id, not none.
		zero := f.newExec(7)
		zero.ContextType, zero.ContextID = "lead", ptr(int64(0))
		equal(t, "ContextID 0", f.getExec(f.createExec(zero).ID).ContextID, ptr(int64(0)))

		bare := f.newExec(7)
		bare.Inputs, bare.Messages = nil, nil
		got = f.getExec(f.createExec(bare).ID)
		equal(t, "TimeoutMS unset", got.TimeoutMS, int64(0))
		if got.Temperature != nil || got.APIKeyID != nil || got.Metadata != nil || got.InstanceID != nil || got.ContextID != nil {
			t.Fatalf("Temperature, APIKeyID, Metadata, InstanceID, ContextID = %v, %v, %s, %v, %v; want nil",
				got.Temperature, got.APIKeyID, got.Metadata, got.InstanceID, got.ContextID)
		}
		if got.ContextType != "" || got.MaxIterations != 0 || got.StopReason != "" {
			t.Fatalf("ContextType, MaxIterations, StopReason = %q, %d, %q; want zeros", got.ContextType, got.MaxIterations, got.StopReason)
		}
		if got.Inputs == nil || len(got.Inputs) != 0 || got.Messages == nil || len(got.Messages) != 0 {
			t.Fatalf("Inputs, Messages = %#v, %#v; want empty, not nil", got.Inputs, got.Messages)
		}
	})

	t.Run("Idempotency", func(t *testing.T) {
		f := setup(t, newStore)
		in := f.newExec(7)
		in.IdempotencyKey, in.RequestHash = "key-1", "hash-a"
		first := f.createExec(in)

		again := f.newExec(7)
		again.IdempotencyKey, again.RequestHash = "key-1", "hash-a"
		got, created, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: again, Now: f.now})
		ok(t, err)
		equal(t, "created", created, false)
		sameJSON(t, "replayed", got, first)
		equal(t, "enqueued", f.enq.ExecutionIDs(), []int64{first.ID})

		other := f.newExec(7)
		other.IdempotencyKey, other.RequestHash = "key-1", "hash-b"
		_, _, err = f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: other, Now: f.now})
		wantCode(t, err, tessera.ECONFLICT)

		// Keys are per workspace.
		theirs := f.newExec(7)
		theirs.WorkspaceID, theirs.IdempotencyKey, theirs.RequestHash = f.other.ID, "key-1", "hash-b"
		if e := f.createExec(theirs); e.ID == first.ID {
			t.Fatal("another workspace's key returned the first execution")
		}
		// Executions without a key never collide.
		f.createExec(f.newExec(7))
		f.createExec(f.newExec(7))
	})

	t.Run("ConcurrentIdempotency", func(t *testing.T) {
		f := setup(t, newStore)
		const n = 8
		var wg sync.WaitGroup
		results := make([]*tessera.Execution, n)
		createdN := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				in := f.newExec(7)
				in.IdempotencyKey, in.RequestHash = "same", "hash"
				results[i], createdN[i], errs[i] = f.store.ExecutionCreate(f.ctx,
					&tessera.ExecutionCreateParams{Execution: in, Now: f.now})
			})
		}
		wg.Wait()
		created := 0
		for i := range n {
			ok(t, errs[i])
			if createdN[i] {
				created++
			}
			equal(t, "ID", results[i].ID, results[0].ID)
		}
		equal(t, "created", created, 1)
		equal(t, "enqueued", len(f.enq.ExecutionIDs()), 1)
	})

	t.Run("EnqueueFailureRollsBack", func(t *testing.T) {
		f := setup(t, newStore)
		f.enq.SetFail(true)
		in := f.newExec(7)
		in.IdempotencyKey, in.RequestHash = "retry-me", "hash"
		_, _, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: f.now})
		if err == nil {
			t.Fatal("ExecutionCreate succeeded with a failing enqueue hook")
		}
		_, total, err := f.store.ExecutionList(f.ctx, &tessera.ExecutionListParams{WorkspaceID: f.ws.ID})
		ok(t, err)
		equal(t, "executions left", total, 0)

		// The key was not taken by the rolled-back row.
		f.enq.SetFail(false)
		e := f.createExec(in)
		equal(t, "enqueued", f.enq.ExecutionIDs(), []int64{e.ID})
	})

	t.Run("MissingWorkspace", func(t *testing.T) {
		f := setup(t, newStore)
		in := f.newExec(7)
		in.WorkspaceID = 999
		_, _, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("Get", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		_, err := f.store.ExecutionGetByID(f.ctx, &tessera.ExecutionGetParams{ID: e.ID, WorkspaceID: f.other.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		worker, err := f.store.ExecutionGetByID(f.ctx, &tessera.ExecutionGetParams{ID: e.ID})
		ok(t, err)
		sameJSON(t, "without workspace", worker, e)
		_, err = f.store.ExecutionGetByID(f.ctx, &tessera.ExecutionGetParams{ID: 999})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("Thread", func(t *testing.T) {
		f := setup(t, newStore)
		root := f.createExec(f.newExec(7))
		turn := func() *tessera.Execution {
			in := f.newExec(7)
			in.RootID = root.ID
			return f.createExec(in)
		}
		first := turn()
		f.createExec(f.newExec(7)) // another thread
		second := turn()

		thread := func(p tessera.ExecutionThreadParams) []int64 {
			t.Helper()
			got, err := f.store.ExecutionThread(f.ctx, &p)
			ok(t, err)
			return execIDs(got)
		}
		equal(t, "before second", thread(tessera.ExecutionThreadParams{WorkspaceID: f.ws.ID, RootID: root.ID, BeforeID: second.ID}),
			[]int64{root.ID, first.ID})
		equal(t, "before first", thread(tessera.ExecutionThreadParams{WorkspaceID: f.ws.ID, RootID: root.ID, BeforeID: first.ID}),
			[]int64{root.ID})
		equal(t, "whole thread", thread(tessera.ExecutionThreadParams{WorkspaceID: f.ws.ID, RootID: root.ID}),
			[]int64{root.ID, first.ID, second.ID})
		equal(t, "other workspace", thread(tessera.ExecutionThreadParams{WorkspaceID: f.other.ID, RootID: root.ID}),
			[]int64{})
		got, err := f.store.ExecutionThread(f.ctx, &tessera.ExecutionThreadParams{WorkspaceID: f.ws.ID, RootID: root.ID, BeforeID: first.ID})
		ok(t, err)
		sameJSON(t, "thread rows", got, []*tessera.Execution{f.getExec(root.ID)})
	})

	t.Run("FinishWritesStopReason", func(t *testing.T) {
		f := setup(t, newStore)
		finish := func(reason string, status tessera.Status) *tessera.Execution {
			t.Helper()
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, lease)
			got, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
				ID: e.ID, Attempt: 1, Status: status, StopReason: reason, Now: f.at(time.Second)})
			ok(t, err)
			equal(t, "StopReason returned", got.StopReason, reason)
			sameJSON(t, "read back", f.getExec(e.ID), got)
			return got
		}
		finish(tessera.StopMaxIterations, tessera.StatusCompleted)
		finish(tessera.StopFinalAnswer, tessera.StatusCompleted)
		finish("", tessera.StatusFailed)

		// A stale finish writes no stop reason; the holder's does.
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		f.claim(e.ID, f.at(lease+time.Second), lease)
		_, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
			Status: tessera.StatusCompleted, StopReason: tessera.StopMaxIterations, Now: f.at(lease + 2*time.Second)})
		wantCode(t, err, tessera.ECONFLICT)
		equal(t, "StopReason after a stale finish", f.getExec(e.ID).StopReason, "")
		got, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 2,
			Status: tessera.StatusCompleted, StopReason: tessera.StopFinalAnswer, Now: f.at(lease + 2*time.Second)})
		ok(t, err)
		equal(t, "StopReason", got.StopReason, tessera.StopFinalAnswer)
	})

	t.Run("FinishWritesStructuredOutput", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		if e.StructuredOutput != nil {
			t.Fatalf("StructuredOutput of a queued execution = %s, want nil", e.StructuredOutput)
		}
		f.claim(e.ID, f.now, lease)
		parsed := json.RawMessage(`{"b":"x","a":[1,2.5,{"c":null}]}`)
		usage := tessera.Usage{InputTokens: 100, OutputTokens: 80, CachedInputTokens: 20, ReasoningTokens: 64}
		got, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
			Status: tessera.StatusCompleted, Output: string(parsed), StructuredOutput: parsed, Usage: usage, Now: f.at(time.Second)})
		ok(t, err)
		equal(t, "Usage returned", got.Usage, usage)
		equal(t, "Usage read back", f.getExec(e.ID).Usage, usage)
		// Key order is kept: clients may show the object as the model wrote it.
		equal(t, "StructuredOutput returned", string(got.StructuredOutput), string(parsed))
		equal(t, "StructuredOutput read back", string(f.getExec(e.ID).StructuredOutput), string(parsed))

		plain := f.createExec(f.newExec(7))
		f.claim(plain.ID, f.now, lease)
		got, err = f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: plain.ID, Attempt: 1,
			Status: tessera.StatusCompleted, Output: "hi", Now: f.at(time.Second)})
		ok(t, err)
		if got.StructuredOutput != nil {
			t.Fatalf("StructuredOutput without a schema = %s, want nil", got.StructuredOutput)
		}
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		_, _, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: f.newExec(7)})
		wantCode(t, err, tessera.EINTERNAL)
		equal(t, "enqueued", len(f.enq.ExecutionIDs()), 0)
	})
}

func testExecutionList(t *testing.T, newStore NewStore) {
	// seed: e0, e1 of "Support Bot" (e1 completed, e2 a turn of e0's
	// thread), e3 of "Sales 100%", and one in the other workspace.
	seed := func(t *testing.T) (*fixture, []*tessera.Execution) {
		f := setup(t, newStore)
		support := f.newAgent("support")
		support.Title = "Support Bot"
		sales := f.newAgent("sales")
		sales.Title = "Sales 100%"
		sa, sl := f.createAgent(support), f.createAgent(sales)
		theirs := f.newAgent("support")
		theirs.WorkspaceID, theirs.Title = f.other.ID, "Support Bot"
		ta := f.createAgent(theirs)

		e0, e1 := f.createExec(f.newExec(sa.ID)), f.createExec(f.newExec(sa.ID))
		turn := f.newExec(sa.ID)
		turn.RootID = e0.ID
		e2 := f.createExec(turn)
		e3 := f.createExec(f.newExec(sl.ID))
		foreign := f.newExec(ta.ID)
		foreign.WorkspaceID = f.other.ID
		f.createExec(foreign)

		f.claim(e1.ID, f.now, time.Minute)
		_, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: e1.ID, Attempt: 1, Status: tessera.StatusCompleted, Now: f.now})
		ok(t, err)
		return f, []*tessera.Execution{e0, e1, e2, e3}
	}
	list := func(t *testing.T, f *fixture, p tessera.ExecutionListParams) ([]int64, int) {
		t.Helper()
		p.WorkspaceID = f.ws.ID
		got, total, err := f.store.ExecutionList(f.ctx, &p)
		ok(t, err)
		return execIDs(got), total
	}

	t.Run("Filters", func(t *testing.T) {
		f, e := seed(t)
		for _, tc := range []struct {
			name string
			p    tessera.ExecutionListParams
			want []int64
		}{
			{"all", tessera.ExecutionListParams{}, []int64{e[0].ID, e[1].ID, e[2].ID, e[3].ID}},
			{"agent", tessera.ExecutionListParams{AgentID: e[3].AgentID}, []int64{e[3].ID}},
			{"root", tessera.ExecutionListParams{RootID: e[0].ID}, []int64{e[0].ID, e[2].ID}},
			{"status", tessera.ExecutionListParams{Statuses: []tessera.Status{tessera.StatusCompleted}}, []int64{e[1].ID}},
			{"statuses", tessera.ExecutionListParams{Statuses: []tessera.Status{tessera.StatusQueued, tessera.StatusFailed}},
				[]int64{e[0].ID, e[2].ID, e[3].ID}},
			{"agent query", tessera.ExecutionListParams{AgentQuery: "SUPPORT"}, []int64{e[0].ID, e[1].ID, e[2].ID}},
			{"agent query %", tessera.ExecutionListParams{AgentQuery: "0%"}, []int64{e[3].ID}},
			{"agent query _", tessera.ExecutionListParams{AgentQuery: "_"}, []int64{}},
			{"combined", tessera.ExecutionListParams{AgentQuery: "bot", RootID: e[0].ID,
				Statuses: []tessera.Status{tessera.StatusQueued}}, []int64{e[0].ID, e[2].ID}},
		} {
			got, total := list(t, f, tc.p)
			equal(t, tc.name+": ids", got, tc.want)
			equal(t, tc.name+": total", total, len(tc.want))
		}
	})

	t.Run("Paging", func(t *testing.T) {
		f, e := seed(t)
		got, total := list(t, f, tessera.ExecutionListParams{Limit: 2, Offset: 1})
		equal(t, "ids", got, []int64{e[1].ID, e[2].ID})
		equal(t, "total", total, 4)
		got, total = list(t, f, tessera.ExecutionListParams{Limit: 3, Desc: true})
		equal(t, "desc ids", got, []int64{e[3].ID, e[2].ID, e[1].ID})
		equal(t, "desc total", total, 4)
		got, total = list(t, f, tessera.ExecutionListParams{AgentID: e[0].AgentID, Limit: 1, Offset: 1, Desc: true})
		equal(t, "filtered page", got, []int64{e[1].ID})
		equal(t, "filtered total", total, 3)
	})

	// seedContext: x0 … x4 an hour apart, of two agents, two instances,
	// every trigger type and business objects of two types; and, in the
	// other workspace, one that matches every filter of x1.
	seedContext := func(t *testing.T) (*fixture, []*tessera.Execution, []*tessera.Instance) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		i1 := f.createInstance(f.ws.ID, a.ID, "i1", tessera.InstanceConfig{})
		i2 := f.createInstance(f.ws.ID, b.ID, "i2", tessera.InstanceConfig{})
		create := func(at time.Duration, agent *tessera.Agent, instance *tessera.Instance, trigger, ctxType string, ctxID int64) *tessera.Execution {
			t.Helper()
			in := f.newExec(agent.ID)
			in.TriggerType, in.ContextType = trigger, ctxType
			if instance != nil {
				in.InstanceID = &instance.ID
			}
			if ctxID != 0 {
				in.ContextID = &ctxID
			}
			got, _, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: f.at(at)})
			ok(t, err)
			return got
		}
		x := []*tessera.Execution{
			create(0, a, nil, tessera.TriggerAPI, "", 0),
			create(time.Hour, a, i1, tessera.TriggerManual, "deal", 42),
			create(2*time.Hour, a, i1, tessera.TriggerScheduled, "deal", 43),
			create(3*time.Hour, b, i2, tessera.TriggerAPI, "contact", 42),
			create(4*time.Hour, a, nil, tessera.TriggerEvent, "deal", 42),
		}
		theirs := f.newExec(a.ID)
		theirs.WorkspaceID, theirs.InstanceID, theirs.TriggerType = f.other.ID, &i1.ID, tessera.TriggerManual
		theirs.ContextType, theirs.ContextID = "deal", ptr(int64(42))
		_, _, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: theirs, Now: f.at(time.Hour)})
		ok(t, err)
		return f, x, []*tessera.Instance{i1, i2}
	}

	t.Run("NewFilters", func(t *testing.T) {
		f, x, i := seedContext(t)
		ids := func(xs ...*tessera.Execution) []int64 { return execIDs(xs) }
		for _, tc := range []struct {
			name string
			p    tessera.ExecutionListParams
			want []int64
		}{
			{"instance 1", tessera.ExecutionListParams{InstanceID: i[0].ID}, ids(x[1], x[2])},
			{"instance 2", tessera.ExecutionListParams{InstanceID: i[1].ID}, ids(x[3])},
			{"missing instance", tessera.ExecutionListParams{InstanceID: 999}, ids()},
			{"trigger manual", tessera.ExecutionListParams{TriggerType: tessera.TriggerManual}, ids(x[1])},
			{"trigger api", tessera.ExecutionListParams{TriggerType: tessera.TriggerAPI}, ids(x[0], x[3])},
			{"context type deal", tessera.ExecutionListParams{ContextType: "deal"}, ids(x[1], x[2], x[4])},
			{"context type contact", tessera.ExecutionListParams{ContextType: "contact"}, ids(x[3])},
			{"context id 42", tessera.ExecutionListParams{ContextID: 42}, ids(x[1], x[3], x[4])},
			{"context deal 42", tessera.ExecutionListParams{ContextType: "deal", ContextID: 42}, ids(x[1], x[4])},
			// After is inclusive, before exclusive, both at the Now the
			// executions were created with (nanoseconds and all).
			{"created after", tessera.ExecutionListParams{CreatedAfter: f.at(2 * time.Hour)}, ids(x[2], x[3], x[4])},
			{"created before", tessera.ExecutionListParams{CreatedBefore: f.at(2 * time.Hour)}, ids(x[0], x[1])},
			{"created between", tessera.ExecutionListParams{CreatedAfter: f.at(time.Hour), CreatedBefore: f.at(3 * time.Hour)},
				ids(x[1], x[2])},
			{"created after, as returned", tessera.ExecutionListParams{CreatedAfter: x[3].CreatedAt}, ids(x[3], x[4])},
			{"created a microsecond after", tessera.ExecutionListParams{CreatedAfter: x[2].CreatedAt.Add(time.Microsecond)},
				ids(x[3], x[4])},
			{"created before, another zone", tessera.ExecutionListParams{
				CreatedBefore: x[1].CreatedAt.Add(time.Microsecond).In(time.FixedZone("EST", -5*3600))}, ids(x[0], x[1])},
			{"empty window", tessera.ExecutionListParams{CreatedAfter: f.at(3 * time.Hour), CreatedBefore: f.at(3 * time.Hour)}, ids()},
			{"instance and trigger", tessera.ExecutionListParams{InstanceID: i[0].ID, TriggerType: tessera.TriggerScheduled},
				ids(x[2])},
			{"context and window", tessera.ExecutionListParams{ContextType: "deal",
				CreatedAfter: f.at(time.Hour), CreatedBefore: f.at(4 * time.Hour)}, ids(x[1], x[2])},
			{"instance, context id and after", tessera.ExecutionListParams{InstanceID: i[0].ID, ContextID: 42,
				CreatedAfter: f.now}, ids(x[1])},
			{"with the older filters", tessera.ExecutionListParams{ContextID: 42, AgentID: x[0].AgentID,
				Statuses: []tessera.Status{tessera.StatusQueued}}, ids(x[1], x[4])},
			{"agent query and instance", tessera.ExecutionListParams{AgentQuery: "Agent b", InstanceID: i[0].ID}, ids()},
			{"everything at once", tessera.ExecutionListParams{InstanceID: i[0].ID, TriggerType: tessera.TriggerManual,
				ContextType: "deal", ContextID: 42, CreatedAfter: f.at(time.Hour), CreatedBefore: f.at(time.Hour + time.Second),
				AgentID: x[1].AgentID, RootID: x[1].ID}, ids(x[1])},
		} {
			got, total := list(t, f, tc.p)
			equal(t, tc.name+": ids", got, tc.want)
			equal(t, tc.name+": total", total, len(tc.want))
		}

		got, total := list(t, f, tessera.ExecutionListParams{ContextType: "deal", Limit: 1, Offset: 1, Desc: true})
		equal(t, "filtered page", got, ids(x[2]))
		equal(t, "filtered total", total, 3)

		rows, _, err := f.store.ExecutionList(f.ctx, &tessera.ExecutionListParams{WorkspaceID: f.ws.ID, InstanceID: i[0].ID})
		ok(t, err)
		sameJSON(t, "rows", rows, []*tessera.Execution{f.getExec(x[1].ID), f.getExec(x[2].ID)})
		equal(t, "InstanceID of a listed row", rows[0].InstanceID, &i[0].ID)
		equal(t, "context of a listed row", [2]any{rows[0].ContextType, *rows[0].ContextID}, [2]any{"deal", int64(42)})
	})

	t.Run("Rows", func(t *testing.T) {
		f, e := seed(t)
		got, _, err := f.store.ExecutionList(f.ctx, &tessera.ExecutionListParams{WorkspaceID: f.ws.ID, RootID: e[0].ID})
		ok(t, err)
		sameJSON(t, "rows", got, []*tessera.Execution{f.getExec(e[0].ID), f.getExec(e[2].ID)})
	})
}
