package main

// End-to-end tests of a cluster: several server processes (the test binary
// re-executed, see startChild) working in one PostgreSQL schema, sharing
// one fake provider. They need TESSERA_TEST_DATABASE_URL and skip without
// it. Each node gets its own OPENAI_API_KEY (sk-<node>), so the fake knows
// from a request's Authorization header which node made the call.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera/internal/pgtest"
	"github.com/tessera-run/tessera/llm/llmtest"
)

// ---------------------------------------------------------------------------
// The database of a cluster.

// clusterDB is a fresh schema of the test database: the URL the nodes get
// (the schema as the search_path startup parameter, which pgx sends for
// any unknown URL parameter) and a connection of the test's own, to look
// at the tables. The connection is used from the test goroutine only.
type clusterDB struct {
	Schema string
	URL    string
	conn   *pgx.Conn
}

func newClusterDB(t *testing.T) *clusterDB {
	t.Helper()
	base := pgtest.URL(t)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skipf("%s is not a postgres:// URL; the cluster tests pass their schema as its search_path parameter", pgtest.EnvURL)
	}
	schema := pgtest.Schema(t, base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db := &clusterDB{Schema: schema, URL: u.String()}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db.conn, err = pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	t.Cleanup(func() { _ = db.conn.Close(context.Background()) })
	return db
}

// query runs sql and returns its rows scanned by scan.
func clusterQuery[T any](t testing.TB, db *clusterDB, scan func(pgx.Row) (T, error), sql string, args ...any) []T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// clusterProgress counts the executions by status.
type clusterProgress struct {
	Total, Terminal int
	ByStatus        map[string]int
}

func (p clusterProgress) String() string {
	keys := slices.Sorted(maps.Keys(p.ByStatus))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, p.ByStatus[k]))
	}
	return fmt.Sprintf("%d of %d terminal (%s)", p.Terminal, p.Total, strings.Join(parts, " "))
}

type statusCount struct {
	status string
	n      int
}

func (db *clusterDB) progress(t testing.TB) clusterProgress {
	t.Helper()
	p := clusterProgress{ByStatus: map[string]int{}}
	for _, c := range clusterQuery(t, db, func(r pgx.Row) (c statusCount, err error) {
		return c, r.Scan(&c.status, &c.n)
	}, `SELECT status, count(*) FROM executions GROUP BY status`) {
		p.ByStatus[c.status] = c.n
		p.Total += c.n
		switch c.status {
		case "completed", "failed", "cancelled", "timeout":
			p.Terminal += c.n
		}
	}
	return p
}

// describeUnfinished tells what is left: counts, and the first executions
// that are not terminal with their lease and their River job.
func (db *clusterDB) describeUnfinished(t testing.TB, since time.Time) string {
	t.Helper()
	type row struct {
		id, jobID        int64
		status, jobState string
		attempt          int
		lease, attempted *time.Time
	}
	rows := clusterQuery(t, db, func(r pgx.Row) (x row, err error) {
		return x, r.Scan(&x.id, &x.status, &x.attempt, &x.lease, &x.jobID, &x.jobState, &x.attempted)
	}, `SELECT e.id, e.status, e.attempt, e.lease_expires_at, e.job_id, COALESCE(j.state::text, '-'), j.attempted_at
		FROM executions e LEFT JOIN river_job j ON j.id = e.job_id
		WHERE e.status NOT IN ('completed', 'failed', 'cancelled', 'timeout') ORDER BY e.id LIMIT 10`)
	var b strings.Builder
	fmt.Fprintf(&b, "%v, %v after the kill; unfinished:", db.progress(t), time.Since(since).Round(time.Millisecond))
	for _, x := range rows {
		fmt.Fprintf(&b, "\n  execution %d %s attempt %d lease %s, job %d %s attempted %s", x.id, x.status, x.attempt,
			clusterTime(x.lease), x.jobID, x.jobState, clusterTime(x.attempted))
	}
	// River's maintenance (its rescuer of stuck jobs among it) runs on its
	// elected leader only.
	type leader struct {
		id               string
		elected, expires time.Time
	}
	for _, l := range clusterQuery(t, db, func(r pgx.Row) (l leader, err error) { return l, r.Scan(&l.id, &l.elected, &l.expires) },
		`SELECT leader_id, elected_at, expires_at FROM river_leader`) {
		fmt.Fprintf(&b, "\n  River leader %s elected %s expires %s", l.id, l.elected.Format("15:04:05.000"), l.expires.Format("15:04:05.000"))
	}
	return b.String()
}

func clusterTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("15:04:05.000")
}

// statusEvent is one status event of the log.
type clusterStatusEvent struct {
	ExecutionID int64
	Status      string
	Attempt     int
	At          time.Time
}

func (db *clusterDB) statusEvents(t testing.TB) []clusterStatusEvent {
	t.Helper()
	return clusterQuery(t, db, func(r pgx.Row) (e clusterStatusEvent, err error) {
		return e, r.Scan(&e.ExecutionID, &e.Status, &e.Attempt, &e.At)
	}, `SELECT execution_id, data->>'status', COALESCE((data->>'attempt')::int, 0), created_at
		FROM execution_events WHERE type = 'status' ORDER BY execution_id, seq`)
}

// clusterExec is an execution's row with the number of its done events.
type clusterExec struct {
	ID      int64
	Status  string
	Attempt int
	Output  string
	Done    int
}

func (db *clusterDB) executions(t testing.TB) map[int64]clusterExec {
	t.Helper()
	out := map[int64]clusterExec{}
	for _, e := range clusterQuery(t, db, func(r pgx.Row) (e clusterExec, err error) {
		return e, r.Scan(&e.ID, &e.Status, &e.Attempt, &e.Output, &e.Done)
	}, `SELECT e.id, e.status, e.attempt, e.output,
			(SELECT count(*) FROM execution_events v WHERE v.execution_id = e.id AND v.type = 'done')
		FROM executions e`) {
		out[e.ID] = e
	}
	return out
}

// listeners counts the sessions LISTENing on the engine's channel of the
// schema (postgres.Notifier's "tessera_<schema>").
func (db *clusterDB) listeners(t testing.TB) int {
	t.Helper()
	return clusterQuery(t, db, func(r pgx.Row) (n int, err error) { return n, r.Scan(&n) },
		`SELECT count(*)::int FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = $1`,
		"LISTEN "+pgx.Identifier{"tessera_" + db.Schema}.Sanitize())[0]
}

// ---------------------------------------------------------------------------
// Nodes and the provider.

// clusterEnv is the environment every node of a cluster shares: the test
// defaults, the database, and env.
func clusterEnv(t *testing.T, fake *llmtest.Server, dbURL string, env map[string]string) map[string]string {
	t.Helper()
	e := map[string]string{"TESSERA_DATABASE_URL": dbURL}
	maps.Copy(e, env)
	return testEnv(t, &opts{Fake: fake, Env: e})
}

// startNode starts a node of the cluster named name, with its own data dir
// and provider key (so the fake can tell its calls apart), plus extra.
func startNode(t *testing.T, env map[string]string, name string, extra map[string]string) *child {
	t.Helper()
	e := maps.Clone(env)
	e["TESSERA_DATA_DIR"] = t.TempDir()
	e["OPENAI_API_KEY"] = "sk-" + name
	maps.Copy(e, extra)
	return startChild(t, e)
}

// clusterLogTail returns the last n lines a node logged, leaving out the
// access log.
func clusterLogTail(c *child, n int) string {
	var lines []string
	for line := range strings.Lines(c.Stderr.String()) {
		if !strings.Contains(line, `msg="http request"`) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// clusterNodeOf names the node that made a provider call.
func clusterNodeOf(req *llmtest.ChatRequest) string {
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer sk-")
}

// clusterAwaitCall waits until the fake has received a call whose last
// user message is marker.
func clusterAwaitCall(t *testing.T, fake *llmtest.Server, marker string, within time.Duration) *llmtest.ChatRequest {
	t.Helper()
	var found *llmtest.ChatRequest
	eventually(t, within, func() bool {
		for _, r := range fake.Requests() {
			if r.LastUserMessage() == marker {
				found = r
				return true
			}
		}
		return false
	}, func() string { return fmt.Sprintf("the provider received no call for %q", marker) })
	return found
}

// providerCall is one call the fake answered or lost.
type providerCall struct {
	Marker     string
	Node       string
	Start, End time.Time
	// Cut is true when the caller went away before the answer.
	Cut bool
}

// callLog records the fake's calls.
type callLog struct {
	mu    sync.Mutex
	calls []providerCall
}

// handler answers as DefaultHandler after a random latency in [lo, hi),
// recording whether the caller stayed for the answer.
func (l *callLog) handler(lo, hi time.Duration) llmtest.Handler {
	return func(req *llmtest.ChatRequest) llmtest.Reply {
		c := providerCall{Marker: req.LastUserMessage(), Node: clusterNodeOf(req), Start: time.Now()}
		timer := time.NewTimer(lo + rand.N(hi-lo))
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-req.Context().Done():
			c.Cut = true
		}
		c.End = time.Now()
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
		return llmtest.DefaultHandler(req) // not sent when the caller went away
	}
}

func (l *callLog) all() []providerCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// clusterParallel runs fn(0..n-1) on conc goroutines and returns a summary
// of the errors ("" when none).
func clusterParallel(n, conc int, fn func(i int) error) string {
	next := make(chan int)
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) == 0 {
		return ""
	}
	slices.Sort(errs)
	return fmt.Sprintf("%d errors, the first: %s", len(errs), strings.Join(errs[:min(5, len(errs))], "; "))
}

// clusterSubmit posts an async execution of agent with marker as its
// message and returns its id.
func clusterSubmit(c *api, agent int64, marker string, h hdr) (int64, error) {
	r, err := c.send("POST", path("/agents/%d/execute", agent), map[string]any{"messages": marker}, h)
	if err != nil {
		return 0, fmt.Errorf("submit %q to %s: %w", marker, c.URL, err)
	}
	var m struct {
		Responses []struct {
			ID int64 `json:"id"`
		} `json:"responses"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &m) != nil || len(m.Responses) != 1 {
		return 0, fmt.Errorf("submit %q to %s: HTTP %d %.300s", marker, c.URL, r.Status, r.Body)
	}
	return m.Responses[0].ID, nil
}

// openSSEOn opens an event stream on the node of c; it is closed when the
// test ends, and cut after a minute so that a hung stream fails the test.
func openSSEOn(t *testing.T, c *api, p string, h hdr) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	req, err := http.NewRequestWithContext(ctx, "GET", c.URL+p, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s%s: %v", c.URL, p, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s%s: HTTP %d %s %.300s", c.URL, p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	st := &sseStream{resp: resp, lines: bufio.NewScanner(resp.Body), cancel: cancel}
	t.Cleanup(st.close)
	return st
}

// readToDone reads the events of a stream (comments skipped) until it
// ends, which must be right after its done event.
func readToDone(t *testing.T, st *sseStream, what string) []sseEvent {
	t.Helper()
	var evs []sseEvent
	for {
		ev, ok := st.next(t)
		if !ok {
			break
		}
		if ev.Comment != "" {
			continue
		}
		if len(evs) > 0 && evs[len(evs)-1].Event == "done" {
			t.Fatalf("%s: event %+v after done", what, ev)
		}
		evs = append(evs, ev)
	}
	if err := st.lines.Err(); err != nil {
		t.Fatalf("%s: reading the stream: %v (events so far %v)", what, err, sseIDs(evs))
	}
	if len(evs) == 0 || evs[len(evs)-1].Event != "done" {
		t.Fatalf("%s: the stream ended without its done event: %v", what, sseIDs(evs))
	}
	return evs
}

func sseIDs(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID + ":" + ev.Event
	}
	return out
}

// clusterRace reports whether the test binary was built with -race.
func clusterRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// percentile returns the p-th percentile of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// ---------------------------------------------------------------------------
// The tests.

// clusterExecutions is how many executions the kill test submits: 1,000,
// or 300 under -short.
func clusterExecutions() int {
	if testing.Short() {
		return 300
	}
	return 1000
}

// Three nodes share the work of 1,000 executions; one of them is killed
// with SIGKILL when about 30% are done. Every execution still succeeds,
// exactly once (one done event each, whatever the number of provider
// calls), and the ones the dead node held are requeued by the survivors'
// sweepers within about a lease.
func TestClusterSurvivesANodeKilledMidway(t *testing.T) {
	t.Parallel()
	db := newClusterDB(t)
	n := clusterExecutions()
	const lease = 2 * time.Second
	var calls callLog
	fake := llmtest.NewTest(t, llmtest.Config{Handler: calls.handler(200*time.Millisecond, 400*time.Millisecond)})
	env := clusterEnv(t, fake, db.URL, map[string]string{
		"TESSERA_WORKERS":           "16",
		"TESSERA_LEASE":             lease.String(),
		"TESSERA_MAX_ATTEMPTS":      "5",
		"TESSERA_EXECUTION_TIMEOUT": "60s",
	})
	began := time.Now()
	nodes := make([]*child, 3)
	for i := range nodes {
		nodes[i] = startNode(t, env, fmt.Sprintf("node%d", i), nil)
	}
	victim, survivors := nodes[2], []*api{nodes[0].api, nodes[1].api}
	startup := time.Since(began)
	agent := nodes[0].chatAgent(t, "Clustered")

	// Submit, spread round-robin over the nodes, and kill one once about
	// 30% are done. Submitting goes on meanwhile: like any client, it
	// retries what the dead node was handling on a survivor, with the same
	// Idempotency-Key, so that nothing is submitted twice.
	marker := func(i int) string { return fmt.Sprintf("cluster %04d", i) }
	ids := make([]int64, n)
	var victimDead atomic.Bool
	var submitted, resubmitted atomic.Int64
	submitStart := time.Now()
	var submitTook time.Duration
	submitErrs := make(chan string, 1)
	go func() {
		errs := clusterParallel(n, 16, func(i int) error {
			key := hdr{"Idempotency-Key": marker(i)}
			target := nodes[i%len(nodes)].api
			if target == victim.api && victimDead.Load() {
				target = survivors[i%len(survivors)]
			}
			id, err := clusterSubmit(target, agent, marker(i), key)
			if err != nil && target == victim.api && victimDead.Load() {
				resubmitted.Add(1)
				id, err = clusterSubmit(survivors[i%len(survivors)], agent, marker(i), key)
			}
			ids[i] = id
			submitted.Add(1)
			return err
		})
		submitTook = time.Since(submitStart)
		submitErrs <- errs
	}()
	var atKill clusterProgress
	eventually(t, 2*time.Minute, func() bool {
		atKill = db.progress(t)
		return atKill.Terminal >= n*3/10
	}, func() string {
		return fmt.Sprintf("before the kill, %d submitted: %v", submitted.Load(), db.progress(t))
	})
	submittedAtKill := submitted.Load()
	victimDead.Store(true)
	killAt := time.Now()
	if err := victim.signal(t, syscall.SIGKILL, 10*time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the victim exited with %v, want killed", err)
	}
	select {
	case errs := <-submitErrs:
		if errs != "" {
			t.Fatalf("submitting: %s", errs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("submitting did not end within 2 minutes (%d of %d submitted)", submitted.Load(), n)
	}
	byID := map[int64]int{}
	for i, id := range ids {
		byID[id] = i
	}
	if len(byID) != n {
		t.Fatalf("%d distinct executions for %d submissions", len(byID), n)
	}

	// Every execution ends, the survivors doing the rest.
	eventually(t, 2*time.Minute, func() bool {
		p := db.progress(t)
		return p.Total == n && p.Terminal == n
	}, func() string {
		return db.describeUnfinished(t, killAt) + "\nnode0:\n" + clusterLogTail(nodes[0], 20) + "\nnode1:\n" + clusterLogTail(nodes[1], 20)
	})
	allDone := time.Now()

	// Exactly once: each succeeded with its own answer and has one done
	// event, however many attempts and provider calls it took.
	rows := db.executions(t)
	if len(rows) != n {
		t.Errorf("%d executions in the database, want %d", len(rows), n)
	}
	attempts := map[int]int{}
	for id, i := range byID {
		e := rows[id]
		attempts[e.Attempt]++
		if e.Status != "completed" || e.Output != "fake: "+marker(i) || e.Done != 1 {
			t.Errorf("execution %d (%s) = %s attempt %d output %q with %d done events, want completed with its answer and one done event",
				id, marker(i), e.Status, e.Attempt, e.Output, e.Done)
		}
	}

	// The provider: at least one answered call per execution; the calls
	// the dead node lost were made again by a survivor.
	all := calls.all()
	answered, cut := map[string]int{}, map[string]bool{}
	rerunBySurvivor := map[string]bool{}
	leaseLost := 0 // calls of live nodes cut because their lease expired under load
	for _, c := range all {
		switch {
		case c.Cut && c.Node == "node2":
			cut[c.Marker] = true
		case c.Cut:
			leaseLost++
		default:
			answered[c.Marker]++
		}
		if c.Node != "node2" && c.Start.After(killAt) {
			rerunBySurvivor[c.Marker] = true
		}
		// A request the node wrote just before SIGKILL landed can reach
		// the fake a moment later; past this grace the node is gone.
		if c.Node == "node2" && c.Start.After(killAt.Add(500*time.Millisecond)) {
			t.Errorf("the dead node called the provider for %q after the kill", c.Marker)
		}
	}
	for i := range n {
		if answered[marker(i)] < 1 {
			t.Errorf("%q was never answered by the provider (%d cut calls)", marker(i), len(cut))
		}
	}

	// Recovery: the sweepers of the survivors requeue what the dead node
	// held (a status event "queued" with the attempt so far), and a worker
	// claims it again (the next "running" attempt).
	type recovery struct{ requeued, reclaimed time.Duration }
	recovered := map[int64]*recovery{}
	for _, ev := range db.statusEvents(t) {
		if ev.At.Before(killAt) {
			continue
		}
		r := recovered[ev.ExecutionID]
		switch {
		case r == nil && ev.Status == "queued" && ev.Attempt >= 1:
			recovered[ev.ExecutionID] = &recovery{requeued: ev.At.Sub(killAt)}
		case r == nil && ev.Status == "running" && ev.Attempt >= 2:
			// Another job of the same execution (its queue job, when it
			// had started inline) claimed the expired lease directly.
			d := ev.At.Sub(killAt)
			recovered[ev.ExecutionID] = &recovery{requeued: d, reclaimed: d}
		case r != nil && r.reclaimed == 0 && ev.Status == "running":
			r.reclaimed = ev.At.Sub(killAt)
		}
	}
	var requeueTimes, reclaimTimes []time.Duration
	for i, id := range ids {
		m := marker(i)
		r := recovered[id]
		if cut[m] {
			if r == nil {
				t.Errorf("execution %d (%s) lost its provider call with the dead node but was never requeued (attempt %d)", id, m, rows[id].Attempt)
				continue
			}
			if rows[id].Attempt < 2 {
				t.Errorf("execution %d (%s) lost its provider call with the dead node yet succeeded at attempt %d", id, m, rows[id].Attempt)
			}
			if !rerunBySurvivor[m] {
				t.Errorf("execution %d (%s) was not run again by a survivor", id, m)
			}
		}
		if r != nil {
			requeueTimes = append(requeueTimes, r.requeued)
			reclaimTimes = append(reclaimTimes, r.reclaimed)
		}
	}
	if len(recovered) == 0 {
		t.Errorf("no execution was requeued after the kill (%d calls of the dead node were in flight): nothing was orphaned?", len(cut))
	}
	maxRequeue, maxReclaim := percentile(requeueTimes, 1), percentile(reclaimTimes, 1)
	// Expected: the lease plus a sweep interval (lease/3); the bound is
	// loose because loaded machines are slow.
	if maxRequeue > 60*time.Second {
		t.Errorf("the orphaned executions were requeued up to %v after the kill, want about the lease (%v) plus a sweep", maxRequeue, lease)
	}

	// The survivors answer for every execution.
	if errs := clusterParallel(n, 16, func(i int) error {
		c := survivors[i%len(survivors)]
		r, err := c.send("GET", path("/agent-responses/%d", ids[i]), nil, nil)
		if err != nil {
			return err
		}
		var m map[string]any
		_ = json.Unmarshal(r.Body, &m)
		if r.Status != http.StatusOK || m["status"] != "succeeded" || m["output"] != "fake: "+marker(i) {
			return fmt.Errorf("GET /agent-responses/%d on %s: HTTP %d %v", ids[i], c.URL, r.Status, m)
		}
		return nil
	}); errs != "" {
		t.Errorf("reading the executions back through the survivors: %s", errs)
	}

	perNode := map[string]int{}
	for _, c := range all {
		if !c.Cut {
			perNode[c.Node]++
		}
	}
	t.Logf("%d executions on 3 nodes (16 workers each, lease %v, provider latency 200-400ms, race=%v): startup %v, submitted in %v; "+
		"killed node2 at %v with %d submitted, %s and %d of its provider calls in flight (%d submissions retried on a survivor); "+
		"all terminal %v after the kill, %v in all (%.0f executions/s)",
		n, lease, clusterRace(), startup.Round(time.Millisecond), submitTook.Round(time.Millisecond),
		killAt.Sub(submitStart).Round(time.Millisecond), submittedAtKill, atKill, len(cut), resubmitted.Load(), allDone.Sub(killAt).Round(time.Millisecond),
		allDone.Sub(began).Round(time.Millisecond), float64(n)/allDone.Sub(submitStart).Seconds())
	t.Logf("provider calls: %d (answered per node %v; %d cut by the kill, %d by a lease lost under load); attempts per execution %v; "+
		"orphans requeued %d: requeued within median %v / max %v of the kill, claimed again within median %v / max %v",
		len(all), perNode, len(cut), leaseLost, attempts, len(recovered),
		percentile(requeueTimes, 0.5).Round(time.Millisecond), maxRequeue.Round(time.Millisecond),
		percentile(reclaimTimes, 0.5).Round(time.Millisecond), maxReclaim.Round(time.Millisecond))
}

// Two nodes; the only worker of node a is held by a run, so the other runs
// go to node b. A wait on a answers as soon as b finishes; streams opened
// on either node see the whole log, and one dropped on b and resumed on a
// sees the rest exactly once; a cancel sent to b ends the run held on a.
func TestClusterCrossNodeWaitStreamAndCancel(t *testing.T) {
	t.Parallel()
	db := newClusterDB(t)
	hold := make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold) }) }
	words := []string{"one", " two", " three", " four", " five", " six", " seven", " eight"}
	fake := llmtest.NewTest(t, llmtest.Config{Handler: func(req *llmtest.ChatRequest) llmtest.Reply {
		msg := req.LastUserMessage()
		switch {
		case strings.HasPrefix(msg, "hold"):
			select {
			case <-hold:
			case <-req.Context().Done():
			}
		case strings.HasPrefix(msg, "stream"):
			return llmtest.Reply{Content: strings.Join(words, ""), Chunks: words, ChunkDelay: 100 * time.Millisecond}
		default:
			r := llmtest.DefaultHandler(req)
			r.Delay = 50 * time.Millisecond
			return r
		}
		return llmtest.DefaultHandler(req)
	}})
	t.Cleanup(release)
	env := clusterEnv(t, fake, db.URL, map[string]string{"TESSERA_LEASE": "2s"})

	a := startNode(t, env, "a", map[string]string{"TESSERA_WORKERS": "1"})
	agent := a.chatAgent(t, "Crossing")
	blocker := intOf(t, first(t, a.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "hold on a"}, nil))["id"])
	held := clusterAwaitCall(t, fake, "hold on a", 30*time.Second)
	if node := clusterNodeOf(held); node != "a" {
		t.Fatalf("the held run is on %q, want a (the only node)", node)
	}
	b := startNode(t, env, "b", map[string]string{"TESSERA_WORKERS": "4"})

	t.Run("SyncWaitForARunOnAnotherNode", func(t *testing.T) {
		start := time.Now()
		m := a.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "wait across", "waitExecution": true}, nil)
		took := time.Since(start)
		r := first(t, m)
		if r["status"] != "succeeded" || r["output"] != "fake: wait across" {
			t.Fatalf("the wait on a answered %v, want the finished result", r)
		}
		if node := clusterNodeOf(requestWith(t, fake, "wait across")); node != "b" {
			t.Errorf("the run was on %q, want b (a's only worker is held)", node)
		}
		completed := clusterQuery(t, db, func(r pgx.Row) (at time.Time, err error) { return at, r.Scan(&at) },
			`SELECT completed_at FROM executions WHERE id = $1`, intOf(t, r["id"]))[0]
		if took > 10*time.Second {
			t.Errorf("the wait took %v, want well under the 100s cap", took)
		}
		t.Logf("sync wait on a for a run on b: answered in %v, %v after the run finished", took.Round(time.Millisecond), time.Since(completed).Round(time.Millisecond))
	})

	t.Run("StreamsOnEitherNodeAndResumeOnTheOther", func(t *testing.T) {
		ex := intOf(t, first(t, a.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "stream across"}, nil))["id"])
		onA := openSSEOn(t, a.api, eventsPath(ex), nil)
		onB := openSSEOn(t, b.api, eventsPath(ex), nil)
		dropped := openSSEOn(t, b.api, eventsPath(ex), nil)
		var part []sseEvent
		for {
			ev, ok := dropped.next(t)
			if !ok {
				t.Fatalf("the stream on b ended before its first delta: %v", sseIDs(part))
			}
			if ev.Comment != "" {
				continue
			}
			part = append(part, ev)
			if ev.Event == "done" {
				t.Fatalf("done before any delta: %v", sseIDs(part))
			}
			if ev.Event == "delta" {
				break
			}
		}
		dropped.close()
		resumedAt := time.Now()
		rest := readToDone(t, openSSEOn(t, a.api, eventsPath(ex), hdr{"Last-Event-ID": part[len(part)-1].ID}), "resumed on a")
		fullA, fullB := readToDone(t, onA, "stream on a"), readToDone(t, onB, "stream on b")

		type logged struct {
			seq       int64
			typ, data string
		}
		log := clusterQuery(t, db, func(r pgx.Row) (e logged, err error) { return e, r.Scan(&e.seq, &e.typ, &e.data) },
			`SELECT seq, type, data::text FROM execution_events WHERE execution_id = $1 ORDER BY seq`, ex)
		check := func(what string, evs []sseEvent) {
			t.Helper()
			if len(evs) != len(log) {
				t.Errorf("%s: %d events %v, the log has %d", what, len(evs), sseIDs(evs), len(log))
				return
			}
			for i, ev := range evs {
				var data any
				_ = json.Unmarshal([]byte(log[i].data), &data)
				if ev.ID != fmt.Sprint(log[i].seq) || ev.Event != log[i].typ || !reflect.DeepEqual(ev.Data["data"], data) {
					t.Errorf("%s: event %d = %s:%s %v, the log has %d:%s %s", what, i, ev.ID, ev.Event, ev.Data["data"], log[i].seq, log[i].typ, log[i].data)
				}
			}
		}
		check("stream on a (the run is on b)", fullA)
		check("stream on b", fullB)
		check("dropped on b and resumed on a", append(slices.Clone(part), rest...))
		done := fullA[len(fullA)-1].Data["data"].(map[string]any)
		if done["status"] != "completed" || done["output"] != strings.Join(words, "") {
			t.Errorf("done = %v, want completed with the whole answer", done)
		}
		if node := clusterNodeOf(requestWith(t, fake, "stream across")); node != "b" {
			t.Errorf("the run was on %q, want b", node)
		}
		finished := clusterQuery(t, db, func(r pgx.Row) (at time.Time, err error) { return at, r.Scan(&at) },
			`SELECT completed_at FROM executions WHERE id = $1`, ex)[0]
		t.Logf("stream: %d events; dropped on b after %d, resumed on a %v before the run ended, %d more events",
			len(log), len(part), finished.Sub(resumedAt).Round(time.Millisecond), len(rest))
	})

	t.Run("CancelOnOneNodeEndsTheRunOnTheOther", func(t *testing.T) {
		select {
		case <-held.Context().Done():
			t.Fatal("the held call on a ended before the cancel")
		default:
		}
		n := 0
		for _, r := range fake.Requests() {
			if r.LastUserMessage() == "hold on a" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the provider got %d calls for the held run, want 1 (it was interrupted and run again)", n)
		}
		start := time.Now()
		got := b.must(t, http.StatusAccepted, "POST", path("/api/v1/ai/agents/executions/%d/cancel", blocker), nil, nil)
		if got["cancel_requested"] != true {
			t.Errorf("cancel answered %v", got)
		}
		select {
		case <-held.Context().Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the provider call on a was not cancelled within 10s of the cancel on b")
		}
		took := time.Since(start)
		final := b.awaitResponse(t, blocker, 20*time.Second)
		if msg, _ := final["error"].(string); final["status"] != "failed" || !strings.Contains(msg, "cancelled") {
			t.Errorf("after the cancel: %v, want failed as cancelled", final)
		}
		if st := db.executions(t)[blocker]; st.Status != "cancelled" || st.Done != 1 {
			t.Errorf("in the database: %+v, want cancelled with one done event", st)
		}
		t.Logf("cancel on b reached the provider call on a in %v", took.Round(time.Millisecond))
	})
}

// pgProxy forwards TCP connections to PostgreSQL so that a test can cut a
// node's database, and give it back on the same address, without
// touching the server or the other tests.
type pgProxy struct {
	target, addr string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				continue
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
}

// track registers c, or closes it and returns false when the proxy is cut.
func (p *pgProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *pgProxy) drop(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *pgProxy) pipe(down net.Conn) {
	defer p.drop(down)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		return
	}
	defer p.drop(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, down); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	up.Close()
	down.Close()
	<-done
}

// cut stops accepting and closes every connection, both ways.
func (p *pgProxy) cut() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	conns := slices.Collect(maps.Keys(p.conns))
	p.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// restore listens again on the same address.
func (p *pgProxy) restore(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	eventually(t, 10*time.Second, func() bool {
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	}, func() string { return fmt.Sprintf("listen again on %s: %v", p.addr, err) })
	p.serve(ln)
}

// A node whose database goes away reports not ready (and stays alive);
// when the database comes back it is ready again by itself, its
// notification listener is back, the execution it was running when the
// database went away succeeds and new ones run.
func TestClusterNodesGoNotReadyWithoutTheDatabaseAndRecover(t *testing.T) {
	t.Parallel()
	db := newClusterDB(t)
	u, _ := url.Parse(db.URL)
	if u.Hostname() == "" || strings.HasPrefix(u.Hostname(), "/") {
		t.Skipf("%s names no TCP host to put a proxy in front of", pgtest.EnvURL)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	proxy := startPGProxy(t, target)
	u.Host = proxy.addr

	hold, answered := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold) }) }
	fake := llmtest.NewTest(t, llmtest.Config{Handler: func(req *llmtest.ChatRequest) llmtest.Reply {
		if req.LastUserMessage() == "hold through the outage" {
			select {
			case <-hold:
				select {
				case <-answered:
				default:
					close(answered)
				}
			case <-req.Context().Done():
			}
		}
		return llmtest.DefaultHandler(req)
	}})
	t.Cleanup(release)
	env := clusterEnv(t, fake, u.String(), map[string]string{"TESSERA_LEASE": "2s", "TESSERA_WORKERS": "2"})
	node := startNode(t, env, "solo", nil)
	ready := func() int {
		st, _ := node.do(t, "GET", "/readyz", nil, nil)
		return st
	}
	if st := ready(); st != http.StatusOK {
		t.Fatalf("/readyz = %d before the outage", st)
	}
	eventually(t, 30*time.Second, func() bool { return db.listeners(t) == 1 }, func() string {
		return fmt.Sprintf("%d sessions LISTEN on the schema's channel, want 1", db.listeners(t))
	})
	agent := node.chatAgent(t, "Outage")
	before := intOf(t, first(t, node.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "hold through the outage"}, nil))["id"])
	clusterAwaitCall(t, fake, "hold through the outage", 30*time.Second)

	cutAt := time.Now()
	proxy.cut()
	last := 0
	eventually(t, 20*time.Second, func() bool { last = ready(); return last == http.StatusServiceUnavailable },
		func() string { return fmt.Sprintf("/readyz = %d without the database", last) })
	notReadyAfter := time.Since(cutAt)
	if st, _ := node.do(t, "GET", "/healthz", nil, nil); st != http.StatusOK {
		t.Errorf("/healthz = %d without the database, want 200 (the process is alive)", st)
	}
	if st, body := node.do(t, "GET", path("/agent-responses/%d", before), nil, nil); st != http.StatusServiceUnavailable {
		t.Errorf("GET /agent-responses without the database: HTTP %d %v, want 503", st, body)
	}
	if db.listeners(t) != 0 {
		eventually(t, 20*time.Second, func() bool { return db.listeners(t) == 0 }, func() string { return "the listener's session outlives the cut" })
	}
	// The run is held while its heartbeats fail, long enough for its lease
	// to lapse (a beat every lease/3); then it finishes while the database
	// is still away, so its outcome cannot be written.
	eventually(t, 30*time.Second, func() bool { return strings.Count(node.Stderr.String(), "execution heartbeat failed") >= 4 },
		func() string { return "the node did not report 4 failed heartbeats:\n" + clusterLogTail(node, 20) })
	release()
	select {
	case <-answered:
	case <-time.After(20 * time.Second):
		t.Fatal("the held call was not answered after its release")
	}
	eventually(t, 30*time.Second, func() bool { return strings.Contains(node.Stderr.String(), "finish execution") },
		func() string {
			return "the node did not report that it could not write the outcome:\n" + clusterLogTail(node, 20)
		})
	if st := ready(); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while the database is still away", st)
	}

	restoreAt := time.Now()
	outage := restoreAt.Sub(cutAt)
	proxy.restore(t)
	eventually(t, 30*time.Second, func() bool { last = ready(); return last == http.StatusOK },
		func() string {
			return fmt.Sprintf("/readyz = %d after the database came back\nstderr:\n%s", last, node.Stderr)
		})
	readyAfter := time.Since(restoreAt)
	eventually(t, 30*time.Second, func() bool { return db.listeners(t) == 1 }, func() string {
		return fmt.Sprintf("%d sessions LISTEN on the schema's channel after the database came back, want 1 (the listener reconnects)", db.listeners(t))
	})
	listenAfter := time.Since(restoreAt)

	got := node.awaitResponse(t, before, 60*time.Second)
	if got["status"] != "succeeded" || got["output"] != "fake: hold through the outage" {
		t.Errorf("the execution running at the cut = %v, want succeeded", got)
	}
	recoveredAfter := time.Since(restoreAt)
	if r := node.run(t, agent, map[string]any{"messages": "after the outage"}); r["output"] != "fake: after the outage" {
		t.Errorf("a new execution after the outage = %v", r)
	}
	st := db.executions(t)[before]
	if st.Done != 1 {
		t.Errorf("the execution running at the cut has %d done events, want 1", st.Done)
	}
	t.Logf("outage of %v: not ready %v after the cut; ready %v after the database came back, listener back after %v, "+
		"the interrupted execution succeeded %v after (attempt %d)", outage.Round(time.Millisecond), notReadyAfter.Round(time.Millisecond),
		readyAfter.Round(time.Millisecond), listenAfter.Round(time.Millisecond), recoveredAfter.Round(time.Millisecond), st.Attempt)
}

// A node dies after its queue has fetched a job but before the claim of
// the execution is committed (the window is held open here by a row lock
// of the test's own, on which the claim waits): the execution is still
// queued and its job is held by the dead node, so it is not a lease the
// sweeper could find expired. Another node must still pick it up within
// about a lease.
func TestClusterRecoversAnExecutionWhoseJobTheDeadNodeHadFetched(t *testing.T) {
	t.Parallel()
	db := newClusterDB(t)
	const lease = 2 * time.Second
	hold := make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold) }) }
	fake := llmtest.NewTest(t, llmtest.Config{Handler: func(req *llmtest.ChatRequest) llmtest.Reply {
		if req.LastUserMessage() == "first turn" {
			select {
			case <-hold:
			case <-req.Context().Done():
			}
		}
		return llmtest.DefaultHandler(req)
	}})
	t.Cleanup(release)
	env := clusterEnv(t, fake, db.URL, map[string]string{"TESSERA_LEASE": lease.String(), "TESSERA_WORKERS": "2"})
	victim := startNode(t, env, "victim", nil)
	agent := victim.chatAgent(t, "Fetched")

	// The second turn of a thread cannot be claimed while the first runs:
	// its job is snoozed and fetched again. Its row is locked meanwhile;
	// once the first turn is done, the next claim matches the row and waits
	// on the lock, with the job fetched.
	root := intOf(t, first(t, victim.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "first turn"}, nil))["id"])
	clusterAwaitCall(t, fake, "first turn", 30*time.Second)
	second := intOf(t, first(t, victim.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "second turn", "root_id": root}, nil))["id"])

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	locker, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, `SELECT id FROM executions WHERE id = $1 FOR UPDATE`, second); err != nil {
		t.Fatal(err)
	}
	release()
	eventually(t, 30*time.Second, func() bool { return db.executions(t)[root].Status == "completed" },
		func() string { return fmt.Sprintf("the first turn is %+v", db.executions(t)[root]) })
	blocked := func() int {
		return clusterQuery(t, db, func(r pgx.Row) (n int, err error) { return n, r.Scan(&n) },
			`SELECT count(*)::int FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) AND query LIKE '%attempt = attempt + 1%'`,
			int(locker.PgConn().PID()))[0]
	}
	eventually(t, 30*time.Second, func() bool { return blocked() == 1 }, func() string {
		type job struct {
			state     string
			scheduled time.Time
			attempt   int
		}
		j := clusterQuery(t, db, func(r pgx.Row) (x job, err error) { return x, r.Scan(&x.state, &x.scheduled, &x.attempt) },
			`SELECT j.state::text, j.scheduled_at, j.attempt FROM executions e JOIN river_job j ON j.id = e.job_id WHERE e.id = $1`, second)
		return fmt.Sprintf("no claim of execution %d waits on the test's lock (%d do); its job: %+v\n%s", second, blocked(), j, clusterLogTail(victim, 20))
	})
	type job struct {
		status, state string
	}
	j := clusterQuery(t, db, func(r pgx.Row) (x job, err error) { return x, r.Scan(&x.status, &x.state) },
		`SELECT e.status, j.state::text FROM executions e JOIN river_job j ON j.id = e.job_id WHERE e.id = $1`, second)[0]
	if j.status != "queued" || j.state != "running" {
		t.Fatalf("before the kill the second turn is %s with its job %s, want queued with its job running (fetched)", j.status, j.state)
	}

	killAt := time.Now()
	if err := victim.signal(t, syscall.SIGKILL, 10*time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the victim exited with %v, want killed", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	survivor := startNode(t, env, "survivor", nil)
	eventually(t, 30*time.Second, func() bool {
		return db.executions(t)[second].Status == "completed"
	}, func() string {
		return fmt.Sprintf("the second turn, whose job the dead node had fetched, was not picked up: %s\nsurvivor:\n%s",
			db.describeUnfinished(t, killAt), clusterLogTail(survivor, 20))
	})
	if r := survivor.awaitResponse(t, second, time.Second); r["output"] != "fake: second turn" {
		t.Errorf("the second turn = %v", r)
	}
	t.Logf("the execution whose job the dead node had fetched finished %v after the kill", time.Since(killAt).Round(time.Millisecond))
}
