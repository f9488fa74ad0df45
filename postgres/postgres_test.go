package postgres_test

import (
	"context"
	"fmt"
	neturl "net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/pgtest"
	"github.com/tessera-run/tessera/postgres"
	"github.com/tessera-run/tessera/storetest"
)

func TestStore(t *testing.T) {
	url := pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) (tessera.Store, *storetest.Enqueued) {
		rec := &storetest.Enqueued{}
		return open(t, url, pgtest.Schema(t, url), rec), rec
	})
}

// open opens and migrates a store in schema whose enqueue hook reports to
// rec, and closes it when t ends. Stores opened on one schema are the
// nodes of one deployment: each has its own pool.
func open(t *testing.T, url, schema string, rec *storetest.Enqueued) *postgres.Store {
	t.Helper()
	return openWith(t, postgres.Config{URL: url, Schema: schema,
		Enqueue: func(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error) {
			return rec.Record(executionID)
		}})
}

func openWith(t *testing.T, cfg postgres.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenMigrated(t.Context(), cfg)
	if err != nil {
		t.Fatalf("OpenMigrated: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openAll opens and migrates n nodes on schema at once, as nodes of a
// deployment starting together do.
func openAll(t *testing.T, url, schema string, n int) []*postgres.Store {
	t.Helper()
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = postgres.OpenMigrated(t.Context(), postgres.Config{URL: url, Schema: schema})
		})
	}
	wg.Wait()
	for i := range n {
		if stores[i] != nil {
			t.Cleanup(func() { stores[i].Close() })
		}
	}
	for _, err := range errs {
		ok(t, err)
	}
	return stores
}

// env is a test's deployment: a schema and its first node, with the
// default workspace.
type env struct {
	t      *testing.T
	ctx    context.Context
	url    string
	schema string
	store  *postgres.Store
	rec    *storetest.Enqueued
	now    time.Time
}

func setup(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	url := pgtest.URL(t)
	e := &env{t: t, ctx: t.Context(), url: url, schema: pgtest.Schema(t, url), rec: &storetest.Enqueued{},
		now: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
	e.store = open(t, url, e.schema, e.rec)
	_, err := e.store.WorkspaceCreate(e.ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "w", Now: e.now})
	ok(t, err)
	return e
}

// node opens another node of the deployment.
func (e *env) node(rec *storetest.Enqueued) *postgres.Store {
	e.t.Helper()
	return open(e.t, e.url, e.schema, rec)
}

func (e *env) newExec() *tessera.Execution {
	return &tessera.Execution{WorkspaceID: tessera.DefaultWorkspaceID, AgentID: 1, Input: "hi",
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "hi"}}}
}

func (e *env) create(s tessera.Store, in *tessera.Execution) *tessera.Execution {
	e.t.Helper()
	got, _, err := s.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: e.now})
	ok(e.t, err)
	return got
}

func (e *env) claim(id int64, lease time.Duration) *tessera.Execution {
	e.t.Helper()
	got, err := e.store.ExecutionClaim(e.ctx, &tessera.ExecutionClaimParams{ID: id, Now: e.now, LeaseUntil: e.now.Add(lease)})
	ok(e.t, err)
	return got
}

func (e *env) events(id int64) []*tessera.Event {
	e.t.Helper()
	got, err := e.store.EventListAfter(e.ctx, &tessera.EventListParams{ExecutionID: id})
	ok(e.t, err)
	return got
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := tessera.ErrorCode(err); got != code {
		t.Fatalf("error kind = %q, want %q (err: %v)", got, code, err)
	}
}

func seqs(events []*tessera.Event) []int64 {
	out := []int64{}
	for _, ev := range events {
		out = append(out, ev.Seq)
	}
	return out
}

func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestMigrateIsIdempotent(t *testing.T) {
	e := setup(t)
	ok(t, e.store.Migrate(e.ctx))
	// Nodes starting together migrate a fresh schema once between them.
	fresh := pgtest.Schema(t, e.url)
	openAll(t, e.url, fresh, 4)
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	for _, schema := range []string{e.schema, fresh} {
		var applied int
		err := e.store.Pool().QueryRow(e.ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{schema, "tessera_migrations"}.Sanitize()+
			` WHERE version_id > 0`).Scan(&applied)
		ok(t, err)
		if applied != len(files) {
			t.Errorf("schema %s: applied migrations = %d, want %d (one per file)", schema, applied, len(files))
		}
	}
}

// Nodes racing on a few idempotency keys create exactly one execution per
// key, and enqueue exactly one job for it.
func TestConcurrentIdempotentCreates(t *testing.T) {
	e := setup(t)
	const nodes, perNode, keys = 4, 10, 4
	stores := []*postgres.Store{e.store}
	for range nodes - 1 {
		stores = append(stores, e.node(e.rec))
	}
	var mu sync.Mutex
	created := map[string]int{}
	ids := map[string]map[int64]bool{}
	var wg sync.WaitGroup
	for i := range nodes * perNode {
		wg.Go(func() {
			key := fmt.Sprintf("key-%d", i%keys)
			in := e.newExec()
			in.IdempotencyKey, in.RequestHash = key, "h"
			got, isNew, err := stores[i%nodes].ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: e.now})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if isNew {
				created[key]++
			}
			if ids[key] == nil {
				ids[key] = map[int64]bool{}
			}
			ids[key][got.ID] = true
		})
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		if created[key] != 1 || len(ids[key]) != 1 {
			t.Errorf("%s: created %d times, %d distinct ids; want 1, 1", key, created[key], len(ids[key]))
		}
	}
	if n := len(e.rec.ExecutionIDs()); n != keys {
		t.Errorf("enqueue calls = %d, want %d", n, keys)
	}
}

// expiredBatch creates n executions whose leases have expired by the
// returned sweep time.
func (e *env) expiredBatch(n int) ([]int64, time.Time) {
	e.t.Helper()
	var ids []int64
	for range n {
		x := e.create(e.store, e.newExec())
		e.claim(x.ID, time.Second)
		ids = append(ids, x.ID)
	}
	return ids, e.now.Add(time.Minute)
}

// sweepUntilDone runs s's sweeper in batches of limit until a pass recovers
// nothing, and returns what it recovered.
func (e *env) sweepUntilDone(s *postgres.Store, at time.Time, limit int) []int64 {
	var got []int64
	for {
		requeued, failed, err := s.ExecutionRequeueExpired(e.ctx, &tessera.ExecutionRequeueParams{
			Now: at, MaxAttempts: 5, Limit: limit})
		if err != nil {
			e.t.Error(err)
			return got
		}
		if len(requeued)+len(failed) == 0 {
			return got
		}
		if len(failed) != 0 {
			e.t.Errorf("failed = %v, want none", failed)
		}
		got = append(got, requeued...)
	}
}

// checkRequeuedOnce checks that each of ids went back to queued exactly
// once: one recovery among all sweepers, one job, one queued event.
func (e *env) checkRequeuedOnce(ids, recovered []int64, recs ...*storetest.Enqueued) {
	e.t.Helper()
	slices.Sort(recovered)
	if !slices.Equal(recovered, ids) {
		e.t.Fatalf("recovered %v (sorted), want each of %v once", recovered, ids)
	}
	var enqueued []int64
	for _, rec := range recs {
		enqueued = append(enqueued, rec.ExecutionIDs()...)
	}
	slices.Sort(enqueued)
	if !slices.Equal(enqueued, ids) {
		e.t.Fatalf("enqueue calls of the sweepers = %v (sorted), want one per execution %v", enqueued, ids)
	}
	for _, id := range ids {
		x, err := e.store.ExecutionGetByID(e.ctx, &tessera.ExecutionGetParams{ID: id})
		ok(e.t, err)
		if x.Status != tessera.StatusQueued || x.LastEventSeq != 3 || x.Attempt != 1 {
			e.t.Fatalf("execution %d: status %s, LastEventSeq %d, Attempt %d; want queued, 3, 1", id, x.Status, x.LastEventSeq, x.Attempt)
		}
		if got := seqs(e.events(id)); !slices.Equal(got, []int64{1, 2, 3}) {
			e.t.Fatalf("execution %d: seqs %v, want 1, 2, 3", id, got)
		}
	}
	requeued, failed, err := e.store.ExecutionRequeueExpired(e.ctx, &tessera.ExecutionRequeueParams{
		Now: e.now.Add(time.Minute), MaxAttempts: 5})
	ok(e.t, err)
	if len(requeued)+len(failed) != 0 {
		e.t.Fatalf("a last sweep recovered %v, %v; want nothing", requeued, failed)
	}
}

// Two nodes' sweepers hold batches of the same expired rows at the same
// time: each skips the other's locked rows, and no execution is requeued
// (or enqueued) twice. Without SKIP LOCKED the second would wait on the
// first's rows and the two would never meet in their hooks.
func TestConcurrentSweepersShareTheRows(t *testing.T) {
	e := setup(t)
	ids, sweep := e.expiredBatch(20)

	meet, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	var arrived sync.WaitGroup
	arrived.Add(2)
	met := make(chan struct{})
	go func() { arrived.Wait(); close(met) }()
	sweeper := func() (*postgres.Store, *storetest.Enqueued) {
		rec := &storetest.Enqueued{}
		var first sync.Once
		return openWith(t, postgres.Config{URL: e.url, Schema: e.schema,
			Enqueue: func(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
				// Each sweeper's first job waits, its batch locked, until
				// the other holds a batch too.
				first.Do(func() {
					arrived.Done()
					select {
					case <-met:
					case <-meet.Done():
						t.Error("the two sweepers never held batches at the same time")
					}
				})
				return rec.Record(id)
			}}), rec
	}
	a, recA := sweeper()
	b, recB := sweeper()

	var wg sync.WaitGroup
	var gotA, gotB []int64
	wg.Go(func() { gotA = e.sweepUntilDone(a, sweep, 5) })
	wg.Go(func() { gotB = e.sweepUntilDone(b, sweep, 5) })
	wg.Wait()
	if len(gotA) == 0 || len(gotB) == 0 {
		t.Errorf("recovered by a, b = %v, %v; want both to have worked", gotA, gotB)
	}
	e.checkRequeuedOnce(ids, slices.Concat(gotA, gotB), recA, recB)
}

// Free-running sweepers of four nodes over the same rows.
func TestConcurrentSweepersNeverRequeueTwice(t *testing.T) {
	e := setup(t)
	ids, sweep := e.expiredBatch(40)
	const nodes = 4
	recs := make([]*storetest.Enqueued, nodes)
	stores := make([]*postgres.Store, nodes)
	for i := range nodes {
		recs[i] = &storetest.Enqueued{}
		stores[i] = e.node(recs[i])
	}
	got := make([][]int64, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { got[i] = e.sweepUntilDone(stores[i], sweep, 3) })
	}
	wg.Wait()
	e.checkRequeuedOnce(ids, slices.Concat(got...), recs...)
}

// Workers of several nodes appending to one execution (the holder and
// anything else with its attempt) get gap-free, distinct seqs.
func TestConcurrentAppendsAcrossNodes(t *testing.T) {
	e := setup(t)
	x := e.create(e.store, e.newExec())
	e.claim(x.ID, time.Hour)
	const nodes, writers, rounds, batch = 3, 3, 10, 3
	stores := []*postgres.Store{e.store}
	for range nodes - 1 {
		stores = append(stores, e.node(e.rec))
	}
	var mu sync.Mutex
	var returned []int64
	var wg sync.WaitGroup
	for i := range nodes * writers {
		wg.Go(func() {
			for range rounds {
				events := make([]tessera.EventInput, batch)
				for j := range events {
					events[j] = tessera.EventInput{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: "x"}}
				}
				got, err := stores[i%nodes].EventAppend(e.ctx, &tessera.EventAppendParams{
					ExecutionID: x.ID, Attempt: 1, Events: events, Now: e.now})
				if err != nil {
					t.Error(err)
					return
				}
				s := seqs(got)
				if len(s) != batch || s[batch-1]-s[0] != batch-1 {
					t.Errorf("one append got seqs %v, want %d in a row", s, batch)
				}
				mu.Lock()
				returned = append(returned, s...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	last := int64(2 + nodes*writers*rounds*batch)
	slices.Sort(returned)
	if !slices.Equal(returned, seqRange(3, last)) {
		t.Fatalf("returned seqs are not 3..%d, each once", last)
	}
	if got := seqs(e.events(x.ID)); !slices.Equal(got, seqRange(1, last)) {
		t.Fatalf("stored seqs = %v, want 1..%d", got, last)
	}
	done, err := stores[1].ExecutionFinish(e.ctx, &tessera.ExecutionFinishParams{ID: x.ID, Attempt: 1,
		Status: tessera.StatusCompleted, Now: e.now})
	ok(t, err)
	if done.LastEventSeq != last+1 {
		t.Fatalf("LastEventSeq after finish = %d, want %d", done.LastEventSeq, last+1)
	}
}

// Nodes recording the same steps of one attempt at once (a duplicated
// worker, a retried request) record each step once: every other append of
// it is ECONFLICT and writes nothing, not even the other steps of its batch.
func TestConcurrentStepsAcrossNodes(t *testing.T) {
	e := setup(t)
	x := e.create(e.store, e.newExec())
	e.claim(x.ID, time.Hour)
	const nodes, writers, steps = 3, 2, 20
	stores := []*postgres.Store{e.store}
	for range nodes - 1 {
		stores = append(stores, e.node(e.rec))
	}
	var mu sync.Mutex
	won := map[int]int{} // step → appends that recorded it
	var wg sync.WaitGroup
	for i := range nodes * writers {
		wg.Go(func() {
			for n := 1; n <= steps; n += 2 {
				// Each append is two steps, n and n+1, in an order of its own.
				batch := []*tessera.Iteration{{Iteration: n, Thought: fmt.Sprint(i)}, {Iteration: n + 1, Thought: fmt.Sprint(i)}}
				if i%2 == 1 {
					batch[0], batch[1] = batch[1], batch[0]
				}
				err := stores[i%nodes].IterationAppend(e.ctx, &tessera.IterationAppendParams{
					ExecutionID: x.ID, Attempt: 1, Iterations: batch, Now: e.now})
				if tessera.ErrorCode(err) == tessera.ECONFLICT {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				won[n]++
				won[n+1]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := e.store.IterationList(e.ctx, &tessera.IterationListParams{ExecutionID: x.ID})
	ok(t, err)
	if len(got) != steps {
		t.Fatalf("%d steps recorded, want %d", len(got), steps)
	}
	for i, it := range got {
		if it.Iteration != i+1 || won[it.Iteration] != 1 {
			t.Fatalf("step %d: recorded as step %d by %d appends, want once", i+1, it.Iteration, won[it.Iteration])
		}
		// Both steps of a batch come from the one append that won it.
		if i%2 == 1 && it.Thought != got[i-1].Thought {
			t.Fatalf("steps %d and %d come from different appends (%s, %s)", i, i+1, got[i-1].Thought, it.Thought)
		}
	}
}

// withAppName returns url with an application_name, by which a test finds
// its sessions in pg_stat_activity.
func withAppName(t *testing.T, url, name string) string {
	u, err := neturl.Parse(url)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skip("this test needs TESSERA_TEST_DATABASE_URL in URL form")
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// A turn of a thread waits for an uncommitted turn of the same thread, so
// that turns commit in id order and a claim never misses an earlier turn.
func TestThreadTurnsCommitInOrder(t *testing.T) {
	e := setup(t)
	root := e.create(e.store, e.newExec())
	turn := func() *tessera.Execution {
		in := e.newExec()
		in.RootID = root.ID
		return in
	}

	entered, release := make(chan struct{}), make(chan struct{})
	slow := openWith(t, postgres.Config{URL: e.url, Schema: e.schema,
		Enqueue: func(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
			close(entered) // the first turn has its id, its transaction open
			<-release
			return e.rec.Record(id)
		}})
	app := "tessera_turns_" + strings.TrimPrefix(e.schema, "t_")
	fast := openWith(t, postgres.Config{URL: withAppName(t, e.url, app), Schema: e.schema,
		Enqueue: func(ctx context.Context, tx pgx.Tx, id int64) (int64, error) { return e.rec.Record(id) }})

	type result struct {
		exec *tessera.Execution
		err  error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() {
		x, _, err := slow.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: turn(), Now: e.now})
		first <- result{x, err}
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first turn never reached its enqueue hook")
	}
	go func() {
		x, _, err := fast.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: turn(), Now: e.now})
		second <- result{x, err}
	}()

	// The second turn must be waiting for a lock, not done.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		err := e.store.Pool().QueryRow(e.ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&waiting)
		ok(t, err)
		if waiting > 0 {
			break
		}
		select {
		case r := <-second:
			close(release)
			t.Fatalf("the second turn committed (%v, %v) while the first was uncommitted", r.exec, r.err)
		default:
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatal("the second turn never waited for the first")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	a, b := <-first, <-second
	ok(t, a.err)
	ok(t, b.err)
	if b.exec.ID <= a.exec.ID {
		t.Fatalf("ids = %d then %d, want the second above the first", a.exec.ID, b.exec.ID)
	}
}

// Nodes loading the same config agent at once all succeed, and one creates it.
func TestConcurrentAgentUpserts(t *testing.T) {
	e := setup(t)
	stores := []*postgres.Store{e.store, e.node(e.rec), e.node(e.rec)}
	var mu sync.Mutex
	var written int
	ids := map[int64]bool{}
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() {
			a := &tessera.Agent{WorkspaceID: tessera.DefaultWorkspaceID, Slug: "cfg", Title: "Config", Type: tessera.AgentTypeChat,
				Questions: []tessera.Question{}, Tools: []string{"http"}, MaxIterations: 3, MultitaskStrategy: tessera.MultitaskEnqueue}
			got, w, err := stores[i%len(stores)].AgentUpsertBySlug(e.ctx, &tessera.AgentCreateParams{Agent: a, Now: e.now})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if w {
				written++
			}
			ids[got.ID] = true
			if got.Version != 1 {
				t.Errorf("Version = %d, want 1", got.Version)
			}
		})
	}
	wg.Wait()
	if written != 1 || len(ids) != 1 {
		t.Fatalf("written %d times, %d distinct ids; want 1, 1", written, len(ids))
	}
}

// Workspaces created concurrently, some with explicit ids, all get ids, and
// the sequence ends past the explicit ones.
func TestConcurrentWorkspaceCreates(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			id := int64(0)
			if i%4 == 0 {
				id = int64(100 * (i + 1))
			}
			_, err := e.store.WorkspaceCreate(e.ctx, &tessera.WorkspaceCreateParams{ID: id, Name: "w", Now: e.now})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	next, err := e.store.WorkspaceCreate(e.ctx, &tessera.WorkspaceCreateParams{Name: "next", Now: e.now})
	ok(t, err)
	if next.ID <= 500 {
		t.Fatalf("ID after explicit 100 and 500 = %d, want above 500", next.ID)
	}
	all, err := e.store.WorkspaceList(e.ctx, &tessera.WorkspaceListParams{})
	ok(t, err)
	if len(all) != 10 {
		t.Fatalf("workspaces = %d, want 10", len(all))
	}
}

func TestSchemaIsCreatedAndIsolated(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	other := pgtest.Schema(t, url)
	name := "t_new_" + strings.TrimPrefix(other, "t_")
	t.Cleanup(func() { pgtest.Exec(t, url, `DROP SCHEMA IF EXISTS `+name+` CASCADE`) })

	// Nodes opening a missing schema at once all succeed.
	s := openAll(t, url, name, 4)[0]
	var where string
	err := s.Pool().QueryRow(t.Context(), `SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
		WHERE c.oid = 'executions'::regclass`).Scan(&where)
	ok(t, err)
	if where != name {
		t.Fatalf("executions is in schema %q, want %q", where, name)
	}

	theirs := open(t, url, other, &storetest.Enqueued{})
	_, err = s.WorkspaceCreate(t.Context(), &tessera.WorkspaceCreateParams{ID: 1, Name: "mine", Now: time.Now()})
	ok(t, err)
	list, err := theirs.WorkspaceList(t.Context(), &tessera.WorkspaceListParams{})
	ok(t, err)
	if len(list) != 0 {
		t.Fatalf("another schema sees %d workspaces, want 0", len(list))
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]postgres.Config{
		"no URL":            {},
		"upper-case schema": {URL: "postgres://localhost/db", Schema: "Tessera"},
		"quoted schema":     {URL: "postgres://localhost/db", Schema: `a"b`},
		"long schema":       {URL: "postgres://localhost/db", Schema: strings.Repeat("s", 64)},
		"negative MaxConns": {URL: "postgres://localhost/db", MaxConns: -1},
	} {
		if s, err := postgres.Open(t.Context(), cfg); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded, want an error", name)
		}
	}
}

// An unreachable server is EUNAVAILABLE, and no error shows the password,
// whatever form the URL has.
func TestOpenErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	const password = "s3cr3t-Pa55"
	for name, tc := range map[string]struct {
		url  string
		code string
	}{
		"refused":          {"postgres://tessera:" + password + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", tessera.EUNAVAILABLE},
		"refused, keyword": {"host=127.0.0.1 port=1 user=tessera password=" + password + " dbname=db sslmode=disable connect_timeout=5", tessera.EUNAVAILABLE},
		"bad port":         {"postgres://tessera:" + password + "@127.0.0.1:port/db", tessera.EINTERNAL},
		"bad URL":          {"postgres://tessera:" + password + "@[::1/db", tessera.EINTERNAL},
		"bad option":       {"postgres://tessera:" + password + "@127.0.0.1/db?sslmode=sometimes", tessera.EINTERNAL},
	} {
		s, err := postgres.Open(t.Context(), postgres.Config{URL: tc.url})
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if strings.Contains(err.Error(), password) || strings.Contains(tessera.ErrorMessage(err), password) {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
		if got := tessera.ErrorCode(err); got != tc.code {
			t.Errorf("%s: error kind %q (%v), want %q", name, got, err, tc.code)
		}
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	e := setup(t)
	ok(t, e.store.Close())
	_, err := e.store.WorkspaceGetByID(e.ctx, 1)
	wantCode(t, err, tessera.EUNAVAILABLE)
	wantCode(t, e.store.Ping(e.ctx), tessera.EUNAVAILABLE)
	if msg := tessera.ErrorMessage(err); strings.Contains(msg, "pool") {
		t.Fatalf("message %q shows the cause", msg)
	}
}

func TestEnqueueHookRequired(t *testing.T) {
	e := setup(t)
	e.store.SetEnqueue(nil)
	_, _, err := e.store.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: e.newExec(), Now: e.now})
	wantCode(t, err, tessera.EINTERNAL)

	// The hook may be set after Open (wiring builds the queue from Pool).
	var got int64
	e.store.SetEnqueue(func(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error) {
		got = executionID
		return 77, nil
	})
	x := e.create(e.store, e.newExec())
	if got != x.ID || x.JobID != 77 {
		t.Fatalf("hook saw %d, JobID %d; want %d, 77", got, x.JobID, x.ID)
	}
}

// The hook runs inside the execution's transaction: what it writes there
// commits or rolls back with the execution, on create and on requeue.
func TestEnqueueSharesTransaction(t *testing.T) {
	e := setup(t)
	_, err := e.store.Pool().Exec(e.ctx, `CREATE TABLE jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, execution_id bigint)`)
	ok(t, err)
	var mu sync.Mutex
	fail := false
	e.store.SetEnqueue(func(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error) {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO jobs (execution_id) VALUES ($1) RETURNING id`, executionID).Scan(&id); err != nil {
			return 0, err
		}
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return 0, fmt.Errorf("queue is down")
		}
		return id, nil
	})
	setFail := func(f bool) { mu.Lock(); fail = f; mu.Unlock() }
	counts := func() (jobs, execs int) {
		err := e.store.Pool().QueryRow(e.ctx, `SELECT (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM executions)`).Scan(&jobs, &execs)
		ok(t, err)
		return jobs, execs
	}

	x := e.create(e.store, e.newExec())
	setFail(true)
	_, _, err = e.store.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: e.newExec(), Now: e.now})
	if err == nil {
		t.Fatal("create with a failing hook succeeded")
	}
	if jobs, execs := counts(); jobs != 1 || execs != 1 {
		t.Fatalf("jobs, executions = %d, %d; want 1, 1", jobs, execs)
	}

	e.claim(x.ID, time.Second)
	_, _, err = e.store.ExecutionRequeueExpired(e.ctx, &tessera.ExecutionRequeueParams{Now: e.now.Add(time.Minute), MaxAttempts: 3})
	if err == nil {
		t.Fatal("requeue with a failing hook succeeded")
	}
	if jobs, _ := counts(); jobs != 1 {
		t.Fatalf("jobs after a failed requeue = %d, want 1", jobs)
	}
	setFail(false)
	requeued, _, err := e.store.ExecutionRequeueExpired(e.ctx, &tessera.ExecutionRequeueParams{Now: e.now.Add(time.Minute), MaxAttempts: 3})
	ok(t, err)
	if !slices.Equal(requeued, []int64{x.ID}) {
		t.Fatalf("requeued = %v, want %d", requeued, x.ID)
	}
	if jobs, _ := counts(); jobs != 2 {
		t.Fatalf("jobs after a requeue = %d, want 2", jobs)
	}
}

// Search folds every letter, as SQLite's store does, when the database's
// LC_CTYPE is a UTF-8 locale.
func TestQueryFoldsUnicode(t *testing.T) {
	e := setup(t)
	var ctype string
	ok(t, e.store.Pool().QueryRow(e.ctx, `SHOW lc_ctype`).Scan(&ctype))
	if ctype == "C" || ctype == "POSIX" {
		t.Skipf("LC_CTYPE is %s: ILIKE folds ASCII only", ctype)
	}
	a := &tessera.Agent{WorkspaceID: 1, Slug: "etude", Title: "Étude Ünicode", Type: tessera.AgentTypeChat, MaxIterations: 1}
	_, err := e.store.AgentCreate(e.ctx, &tessera.AgentCreateParams{Agent: a, Now: e.now})
	ok(t, err)
	for _, q := range []string{"étude", "ÜNICODE", "ÉTUDE ü"} {
		_, total, err := e.store.AgentList(e.ctx, &tessera.AgentListParams{WorkspaceID: 1, Query: q})
		ok(t, err)
		if total != 1 {
			t.Errorf("AgentList(Query: %q) total = %d, want 1", q, total)
		}
	}
}

// PostgreSQL text cannot hold NUL or invalid UTF-8: such a write is
// EINVALID and leaves nothing behind. Event data is json, which keeps a
// \u0000 escape.
func TestTextPostgresCannotStore(t *testing.T) {
	e := setup(t)
	bad := e.newExec()
	bad.Input = "a\x00b"
	_, _, err := e.store.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: bad, Now: e.now})
	wantCode(t, err, tessera.EINVALID)
	_, err = e.store.AgentCreate(e.ctx, &tessera.AgentCreateParams{Now: e.now, Agent: &tessera.Agent{
		WorkspaceID: 1, Slug: "bad", Title: "bad \xff byte", Type: tessera.AgentTypeChat, MaxIterations: 1}})
	wantCode(t, err, tessera.EINVALID)
	_, total, err := e.store.ExecutionList(e.ctx, &tessera.ExecutionListParams{WorkspaceID: 1})
	ok(t, err)
	if total != 0 {
		t.Fatalf("executions = %d after a refused create, want 0", total)
	}

	x := e.create(e.store, e.newExec())
	e.claim(x.ID, time.Hour)
	text := "nul \x00 byte"
	_, err = e.store.EventAppend(e.ctx, &tessera.EventAppendParams{ExecutionID: x.ID, Attempt: 1, Now: e.now,
		Events: []tessera.EventInput{{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: text}}}})
	ok(t, err)
	events := e.events(x.ID)
	if got := string(events[2].Data); got != `{"text":"nul \u0000 byte"}` {
		t.Fatalf("stored data = %s, want the bytes written", got)
	}
	_, err = e.store.ExecutionFinish(e.ctx, &tessera.ExecutionFinishParams{ID: x.ID, Attempt: 1,
		Status: tessera.StatusCompleted, Output: text, Now: e.now})
	wantCode(t, err, tessera.EINVALID)
	got, err := e.store.ExecutionGetByID(e.ctx, &tessera.ExecutionGetParams{ID: x.ID})
	ok(t, err)
	if got.Status != tessera.StatusRunning || got.LastEventSeq != 3 {
		t.Fatalf("after a refused finish: status %s, LastEventSeq %d; want running, 3", got.Status, got.LastEventSeq)
	}
}

// A turn claimed while the earlier turn that holds its thread finishes is
// either refused as busy (EUNAVAILABLE) or claimed, never an internal
// error: the claim and its explanation see different snapshots.
func TestClaimRacesTheEarlierTurn(t *testing.T) {
	e := setup(t)
	other := e.node(e.rec)
	for range 100 {
		root := e.create(e.store, e.newExec())
		in := e.newExec()
		in.RootID = root.ID
		turn := e.create(e.store, in)
		e.claim(root.ID, time.Hour)
		finished := make(chan error, 1)
		go func() {
			_, err := other.ExecutionFinish(e.ctx, &tessera.ExecutionFinishParams{ID: root.ID, Attempt: 1,
				Status: tessera.StatusCompleted, Now: e.now})
			finished <- err
		}()
		// Claim until the root has finished and one claim after that.
		for done := false; ; {
			if !done {
				select {
				case err := <-finished:
					ok(t, err)
					done = true
				default:
				}
			}
			_, err := e.store.ExecutionClaim(e.ctx, &tessera.ExecutionClaimParams{ID: turn.ID, Now: e.now, LeaseUntil: e.now.Add(time.Hour)})
			if err == nil {
				break
			}
			if code := tessera.ErrorCode(err); code != tessera.EUNAVAILABLE || done {
				t.Fatalf("claim of the next turn (root finished: %v): %v; want EUNAVAILABLE until the root ends, then a claim", done, err)
			}
		}
	}
}
