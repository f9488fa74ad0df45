package main

// Tests of tessera migrate --from sqlite:PATH --to postgres://…: a
// deployment built through the real SQLite store is copied into a fresh
// PostgreSQL schema and read back through the PostgreSQL store.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/pgtest"
	"github.com/tessera-run/tessera/postgres"
	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustGet[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		must(t, err)
		return v
	}
}

// copyEnv is the environment of the copy's Run: nothing but quiet logs.
func copyEnv(name string) string {
	if name == "TESSERA_LOG_LEVEL" {
		return "warn"
	}
	return ""
}

// runCopyCLI runs the real command line.
func runCopyCLI(t *testing.T, from, to string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(t.Context(), []string{"migrate", "--from", from, "--to", to}, copyEnv, &out, &errOut)
	return out.String(), errOut.String(), err
}

// targetURL is the test database's URL working in schema.
func targetURL(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// source is an SQLite deployment built through the store API, with what
// the tests check afterwards.
type source struct {
	path  string
	token string // key A's token
	// revokedHash is key B's, revoked in the source.
	revokedHash string
	// queued and running are execution ids by state in the source;
	// cancelRunning is running with a cancel requested.
	queued        []int64
	running       int64
	cancelRunning int64
	deletedAgent  int64
	// deletedInstance is the highest instance id, deleted.
	deletedInstance int64
	// The deployment as the SQLite store reads it.
	workspaces []*tessera.Workspace
	keys       []*tessera.APIKey
	agents     map[int64][]*tessera.Agent
	instances  map[int64][]*tessera.Instance
	execs      map[int64][]*tessera.Execution
	events     map[int64][]*tessera.Event
	iterations map[int64][]*tessera.Iteration
}

var srcWorkspaces = []int64{1, 2, 7}

// buildSource writes a deployment with every kind of row and every
// execution state into a new SQLite database at path, through the same
// wiring as serve (River's SQLite queue as the enqueue hook).
func buildSource(t *testing.T, path string) *source {
	t.Helper()
	ctx := t.Context()
	cfg := defaultConfig()
	cfg.DatabaseURL = "sqlite:" + path
	store, _, err := openSQLite(ctx, cfg, slog.New(slog.DiscardHandler))
	must(t, err)
	defer store.Close()
	src := &source{path: path}

	// An hour ago: leases of an hour or more are still live at the copy.
	base := time.Now().Add(-time.Hour).Truncate(time.Second).Add(123456 * time.Microsecond)
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

	mustGet[*tessera.Workspace](t)(store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "default", Now: at(0)}))
	mustGet[*tessera.Workspace](t)(store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{Name: "second", Now: at(1)}))
	mustGet[*tessera.Workspace](t)(store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 7, Name: "seven", Now: at(2)}))

	token, hash := tessera.NewAPIToken()
	src.token = token
	keyA := mustGet[*tessera.APIKey](t)(store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
		Name: "a", Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: []int64{2, 1}, Now: at(3)}))
	must(t, store.APIKeyTouch(ctx, keyA.ID, at(4)))
	tokenB, hashB := tessera.NewAPIToken()
	keyB := mustGet[*tessera.APIKey](t)(store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
		Name: "b", Hash: hashB, Prefix: tessera.TokenPrefix(tokenB), WorkspaceIDs: []int64{7}, Now: at(5)}))
	must(t, store.APIKeyRevoke(ctx, &tessera.APIKeyRevokeParams{ID: keyB.ID, Now: at(6)}))
	src.revokedHash = hashB
	tokenC, hashC := tessera.NewAPIToken()
	mustGet[*tessera.APIKey](t)(store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
		Name: "c", Hash: hashC, Prefix: tessera.TokenPrefix(tokenC), WorkspaceIDs: []int64{7}, Now: at(7)}))

	temp := 0.3
	agent := func(ws int64, slug, typ string, minute int, mod func(*tessera.Agent)) *tessera.Agent {
		a := &tessera.Agent{WorkspaceID: ws, Slug: slug, Title: "Agent " + slug, Type: typ, MaxIterations: 10,
			MultitaskStrategy: "enqueue", Source: "api"}
		if mod != nil {
			mod(a)
		}
		return mustGet[*tessera.Agent](t)(store.AgentCreate(ctx, &tessera.AgentCreateParams{Agent: a, Now: at(minute)}))
	}
	a1 := agent(1, "summary", "text", 10, func(a *tessera.Agent) {
		a.Description, a.Instructions, a.Prompt = "Summarises", "You write {{tone}} summaries.", "Summarise: {{ticket}}"
		a.Questions = []tessera.Question{
			{Name: "ticket", Type: "textarea", Required: true},
			{Name: "tone", Type: "select", Options: []string{"short", "long"}, Default: "short", Placeholder: "tone"},
			{Name: "n", Type: "number", Default: 3.5},
		}
		a.Model, a.Temperature, a.Tools, a.TimeoutSeconds, a.Visibility = "fast", &temp, []string{"calculator"}, 120, "workspace"
	})
	a1.Title = "Summary v2"
	a1 = mustGet[*tessera.Agent](t)(store.AgentUpdate(ctx, &tessera.AgentUpdateParams{Agent: a1, Now: at(11)}))
	a2 := agent(1, "chat", "chat", 12, func(a *tessera.Agent) { a.MultitaskStrategy = "reject" })
	a3 := agent(2, "other", "chat", 13, nil)
	a5 := agent(7, "seven", "chat", 14, func(a *tessera.Agent) { a.Source = "config" })
	doomed := agent(1, "doomed", "chat", 15, nil) // the highest agent id, deleted below

	inst := mustGet[*tessera.Instance](t)(store.InstanceCreate(ctx, &tessera.InstanceCreateParams{Now: at(16),
		Instance: &tessera.Instance{WorkspaceID: 1, AgentID: a1.ID, Name: "support", Config: tessera.InstanceConfig{
			Model: "fast", Temperature: &temp, Tools: []string{"calculator"}, MaxIterations: 4,
			InputDefaults: map[string]any{"tone": "short"}, Credentials: map[string]string{"api": "secret"}}}}))
	gone := mustGet[*tessera.Instance](t)(store.InstanceCreate(ctx, &tessera.InstanceCreateParams{Now: at(17),
		Instance: &tessera.Instance{WorkspaceID: 1, AgentID: a2.ID, Name: "gone"}}))
	must(t, store.InstanceDelete(ctx, &tessera.InstanceGetParams{ID: gone.ID, WorkspaceID: 1}))
	src.deletedInstance = gone.ID
	// A webhook of a1 (its executions' ends queue deliveries), an event
	// secret with a signature seen, and a schedule of the instance.
	mustGet[*tessera.Webhook](t)(store.WebhookCreate(ctx, &tessera.WebhookCreateParams{Now: at(18), Webhook: &tessera.Webhook{
		WorkspaceID: 1, AgentID: a1.ID, URL: "https://hooks.example.com/in", Method: "POST", Status: tessera.WebhookActive, Secret: "whsec_1"}}))
	must(t, store.InstanceSetTriggerSecret(ctx, 1, inst.ID, "trsec_1", at(18)))
	must(t, store.TriggerSeen(ctx, inst.ID, "sig-1", at(18), at(0)))
	next := at(60)
	mustGet[*tessera.Schedule](t)(store.ScheduleCreate(ctx, &tessera.ScheduleCreateParams{Now: at(19), Schedule: &tessera.Schedule{
		WorkspaceID: 1, AgentID: a1.ID, InstanceID: &inst.ID, Name: "hourly", Cron: "0 * * * *", Timezone: "Europe/Paris",
		Input: json.RawMessage(`{"ticket": "T-9",  "n": 1}`), Enabled: true, NextRunAt: &next}}))

	keyID := keyA.ID
	exec := func(ws, agentID, root int64, minute int, mod func(*tessera.Execution)) *tessera.Execution {
		e := &tessera.Execution{WorkspaceID: ws, AgentID: agentID, RootID: root, TriggerType: tessera.TriggerAPI,
			Input: "hello", Inputs: map[string]any{"ticket": "T-1", "n": 2.5, "nested": map[string]any{"b": []any{1.0, "x"}, "a": nil}},
			Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "hello"}}, Model: "fast"}
		if mod != nil {
			mod(e)
		}
		x, created, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Execution: e, Now: at(minute)})
		must(t, err)
		if !created {
			t.Fatal("execution not created")
		}
		return x
	}
	claim := func(id int64, minute int, lease time.Duration) *tessera.Execution {
		return mustGet[*tessera.Execution](t)(store.ExecutionClaim(ctx, &tessera.ExecutionClaimParams{
			ID: id, Now: at(minute), LeaseUntil: at(minute).Add(lease)}))
	}
	finish := func(x *tessera.Execution, minute int, status tessera.Status, output, errMsg string) {
		mustGet[*tessera.Execution](t)(store.ExecutionFinish(ctx, &tessera.ExecutionFinishParams{
			ID: x.ID, Attempt: x.Attempt, Status: status, StopReason: tessera.StopFinalAnswer,
			Output: output, Error: errMsg, ModelUsed: "openai/gpt-4o-mini",
			Usage: tessera.Usage{InputTokens: 120, OutputTokens: 34, CachedInputTokens: 64}, Cost: 0.000123, Credits: 0.000246,
			Events: []tessera.EventInput{{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: "tail"}}}, Now: at(minute)}))
	}

	// Completed, of an instance, with tool-loop steps, deltas (one carrying
	// a \u0000 escape, which the json column keeps) and usage.
	contextID := int64(42)
	e1 := exec(1, a1.ID, 0, 20, func(e *tessera.Execution) {
		e.APIKeyID, e.Temperature, e.TimeoutMS, e.Tools = &keyID, &temp, 30000, "calculator"
		e.IdempotencyKey, e.RequestHash = "idem-1", "hash-1"
		e.Metadata = json.RawMessage(`{"z": 1,  "a": [true, null]}`)
		e.InstanceID, e.ContextType, e.ContextID, e.MaxIterations = &inst.ID, "ticket", &contextID, 5
	})
	c1 := claim(e1.ID, 21, time.Minute)
	must(t, store.IterationAppend(ctx, &tessera.IterationAppendParams{ExecutionID: e1.ID, Attempt: c1.Attempt, Now: at(22),
		Iterations: []*tessera.Iteration{
			{Iteration: 1, Thought: "add", Action: "calculator", ActionInput: json.RawMessage(`{"expr":  "1+1", "z": "\u0000"}`),
				Observation: "2", InputTokens: 10, OutputTokens: 5, LatencyMS: 120, Timestamp: at(22)},
			{Iteration: 2, Action: "calculator", ActionInput: json.RawMessage(`{}`), Error: "tool failed", LatencyMS: 7, Timestamp: at(22)},
		}}))
	mustGet[[]*tessera.Event](t)(store.EventAppend(ctx, &tessera.EventAppendParams{ExecutionID: e1.ID, Attempt: c1.Attempt, Now: at(22),
		Events: []tessera.EventInput{{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: "Hel"}},
			{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: "lo nul \x00 byte"}}}}))
	finish(c1, 23, tessera.StatusCompleted, "Hello, done.", "")
	// The next turn of its thread, still queued.
	e2 := exec(1, a1.ID, e1.ID, 24, nil)
	// Running, its lease far in the future.
	e3 := exec(1, a2.ID, 0, 25, nil)
	claim(e3.ID, 26, 24*time.Hour)
	// Running with a cancel requested, its lease expired already.
	e4 := exec(2, a3.ID, 0, 27, nil)
	claim(e4.ID, 28, time.Minute)
	mustGet[*tessera.Execution](t)(store.ExecutionCancel(ctx, &tessera.ExecutionCancelParams{ID: e4.ID, WorkspaceID: 2, Now: at(29)}))
	// Cancelled while queued.
	e5 := exec(2, a3.ID, 0, 30, nil)
	mustGet[*tessera.Execution](t)(store.ExecutionCancel(ctx, &tessera.ExecutionCancelParams{ID: e5.ID, WorkspaceID: 2, Now: at(31)}))
	// Failed, of the agent deleted afterwards (its history stays).
	e6 := exec(1, doomed.ID, 0, 32, nil)
	finish(claim(e6.ID, 33, time.Minute), 34, tessera.StatusFailed, "", "provider said no")
	must(t, store.AgentDelete(ctx, &tessera.AgentGetParams{ID: doomed.ID, WorkspaceID: 1}))
	// Queued in workspace 7, with metadata that is not an object.
	e7 := exec(7, a5.ID, 0, 35, func(e *tessera.Execution) {
		e.Metadata = json.RawMessage(`"just a string"`)
		e.Messages = []tessera.Message{{Role: tessera.RoleDeveloper, Content: "be brief"}, {Role: tessera.RoleUser, Content: "hi"}}
	})
	// Timed out.
	e8 := exec(1, a2.ID, 0, 36, nil)
	finish(claim(e8.ID, 37, time.Minute), 38, tessera.StatusTimeout, "partial", "deadline")

	src.queued = []int64{e2.ID, e7.ID}
	src.running, src.cancelRunning, src.deletedAgent = e3.ID, e4.ID, doomed.ID
	_ = e5

	// The deployment as the SQLite store reads it.
	src.workspaces = mustGet[[]*tessera.Workspace](t)(store.WorkspaceList(ctx, &tessera.WorkspaceListParams{}))
	src.keys = mustGet[[]*tessera.APIKey](t)(store.APIKeyList(ctx, &tessera.APIKeyListParams{}))
	src.agents, src.instances = map[int64][]*tessera.Agent{}, map[int64][]*tessera.Instance{}
	src.execs, src.events, src.iterations = map[int64][]*tessera.Execution{}, map[int64][]*tessera.Event{}, map[int64][]*tessera.Iteration{}
	for _, ws := range srcWorkspaces {
		src.agents[ws], src.instances[ws], src.execs[ws] = readWorkspace(t, store, ws)
		for _, x := range src.execs[ws] {
			src.events[x.ID], src.iterations[x.ID] = readExecution(t, store, x.ID)
		}
	}
	if len(src.workspaces) != 3 || len(src.keys) != 2 || len(src.instances[1]) != 1 || len(src.execs[1]) != 5 ||
		len(src.events[e1.ID]) != 6 || len(src.iterations[e1.ID]) != 2 {
		t.Fatalf("source: %d workspaces, %d live keys, %d instances and %d executions in workspace 1, %d events and %d iterations of execution %d",
			len(src.workspaces), len(src.keys), len(src.instances[1]), len(src.execs[1]), len(src.events[e1.ID]), len(src.iterations[e1.ID]), e1.ID)
	}
	return src
}

// readWorkspace reads a workspace's agents, instances and executions.
func readWorkspace(t *testing.T, store tessera.Store, ws int64) ([]*tessera.Agent, []*tessera.Instance, []*tessera.Execution) {
	t.Helper()
	ctx := t.Context()
	agents, _, err := store.AgentList(ctx, &tessera.AgentListParams{WorkspaceID: ws})
	must(t, err)
	instances, _, err := store.InstanceList(ctx, &tessera.InstanceListParams{WorkspaceID: ws})
	must(t, err)
	execs, _, err := store.ExecutionList(ctx, &tessera.ExecutionListParams{WorkspaceID: ws})
	must(t, err)
	return agents, instances, execs
}

// readExecution reads an execution's events and tool-loop steps.
func readExecution(t *testing.T, store tessera.Store, id int64) ([]*tessera.Event, []*tessera.Iteration) {
	t.Helper()
	ctx := t.Context()
	events := mustGet[[]*tessera.Event](t)(store.EventListAfter(ctx, &tessera.EventListParams{ExecutionID: id, Limit: 1000}))
	iterations := mustGet[[]*tessera.Iteration](t)(store.IterationList(ctx, &tessera.IterationListParams{ExecutionID: id}))
	return events, iterations
}

// openTarget opens the copied schema through the PostgreSQL store, with a
// River queue on its pool as the enqueue hook (not started).
func openTarget(t *testing.T, url, schema string) (*postgres.Store, *queue.Queue[pgx.Tx]) {
	t.Helper()
	store, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	q, err := queue.New(riverpgxv5.New(store.Pool()), queue.Config{Workers: 4, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	must(t, err)
	store.SetEnqueue(q.InsertTx)
	return store, q
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("%s differs:\n got %s\nwant %s", what, g, w)
	}
}

func TestCopySQLiteToPostgres(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := t.Context()
	src := buildSource(t, filepath.Join(t.TempDir(), "tessera.db"))
	// Small batches, so that every table takes several.
	oldRows, oldBytes := copyBatchRows, copyBatchBytes
	copyBatchRows, copyBatchBytes = 2, 1<<10
	t.Cleanup(func() { copyBatchRows, copyBatchBytes = oldRows, oldBytes })

	before := time.Now()
	stdout, stderr, err := runCopyCLI(t, "sqlite:"+src.path, targetURL(url, schema))
	after := time.Now()
	if err != nil {
		t.Fatalf("copy: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	t.Logf("stdout:\n%s", stdout)
	// The table of counts: rows source/target, max ids, next ids. The
	// agents' next id is past the deleted agent, the highest ever used.
	for _, want := range []string{
		`workspaces\s+3\s+3\s+7\s+7\s+8\n`,
		`api_keys\s+3\s+3\s+3\s+3\s+4\n`,
		`api_key_workspaces\s+4\s+4\s+-\s+-\s+-\n`,
		fmt.Sprintf(`agents\s+4\s+4\s+4\s+4\s+%d\n`, src.deletedAgent+1),
		`executions\s+8\s+8\s+8\s+8\s+9\n`,
		fmt.Sprintf(`agent_instances\s+1\s+1\s+1\s+1\s+%d\n`, src.deletedInstance+1),
		`execution_iterations\s+2\s+2\s+-\s+-\s+-\n`,
		`execution_events\s+\d+\s+\d+\s+-`,
		`verified: every table's row count and highest id match`,
		`queued executions given a job in the target's queue: 2\n`,
		`running executions handed to the target's sweeper .*: 2\n`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if m := regexp.MustCompile(`execution_events\s+(\d+)\s+(\d+)`).FindStringSubmatch(stdout); m == nil || m[1] != m[2] {
		t.Errorf("event counts differ: %v", m)
	}

	store, q := openTarget(t, url, schema)

	// Workspaces, keys, agents: equal through the Store API.
	equal(t, "workspaces", mustGet[[]*tessera.Workspace](t)(store.WorkspaceList(ctx, &tessera.WorkspaceListParams{})), src.workspaces)
	equal(t, "api keys", mustGet[[]*tessera.APIKey](t)(store.APIKeyList(ctx, &tessera.APIKeyListParams{})), src.keys)
	key, err := store.APIKeyGetByHash(ctx, tessera.HashAPIToken(src.token))
	must(t, err)
	equal(t, "key by token", key, src.keys[0])
	if _, err := store.APIKeyGetByHash(ctx, src.revokedHash); tessera.ErrorCode(err) != tessera.ENOTFOUND {
		t.Errorf("revoked key by hash: %v, want ENOTFOUND (revoked_at copied)", err)
	}
	for _, ws := range srcWorkspaces {
		agents, instances, _ := readWorkspace(t, store, ws)
		equal(t, fmt.Sprintf("agents of workspace %d", ws), agents, src.agents[ws])
		equal(t, fmt.Sprintf("instances of workspace %d", ws), instances, src.instances[ws])
	}

	// Executions: equal, except that queued ones have their new job and
	// running ones a lease ended at the copy's time.
	jobs := map[int64]int64{} // job id → execution id
	jobRows, err := store.Pool().Query(ctx, `SELECT id, (args->>'execution_id')::bigint FROM river_job WHERE kind = $1`, queue.ExecutionArgs{}.Kind())
	must(t, err)
	for jobRows.Next() {
		var job, exec int64
		must(t, jobRows.Scan(&job, &exec))
		jobs[job] = exec
	}
	must(t, jobRows.Err())
	if len(jobs) != len(src.queued) {
		t.Errorf("river_job holds %d execution jobs, want one per queued execution (%d)", len(jobs), len(src.queued))
	}
	for _, ws := range srcWorkspaces {
		got, _, err := store.ExecutionList(ctx, &tessera.ExecutionListParams{WorkspaceID: ws})
		must(t, err)
		if len(got) != len(src.execs[ws]) {
			t.Fatalf("workspace %d: %d executions, want %d", ws, len(got), len(src.execs[ws]))
		}
		for i, g := range got {
			want := *src.execs[ws][i]
			switch want.Status {
			case tessera.StatusQueued:
				if jobs[g.JobID] != g.ID {
					t.Errorf("queued execution %d: job %d is not its job in the target's queue (%v)", g.ID, g.JobID, jobs)
				}
				want.JobID = g.JobID
			case tessera.StatusRunning:
				// A lease still live ends at the copy; an expired one stays.
				if want.LeaseExpiresAt.After(before) {
					if g.LeaseExpiresAt == nil || g.LeaseExpiresAt.Before(before.Truncate(time.Microsecond)) || g.LeaseExpiresAt.After(after) {
						t.Errorf("running execution %d: lease %v, want ended at the copy (%v…%v)", g.ID, g.LeaseExpiresAt, before, after)
					}
					want.LeaseExpiresAt = g.LeaseExpiresAt
				}
			}
			equal(t, fmt.Sprintf("execution %d", g.ID), g, &want)
			events, iterations := readExecution(t, store, g.ID)
			equal(t, fmt.Sprintf("events of execution %d", g.ID), events, src.events[g.ID])
			equal(t, fmt.Sprintf("iterations of execution %d", g.ID), iterations, src.iterations[g.ID])
		}
	}

	// New rows take ids past the copied ones (and past the deleted agent).
	now := time.Now()
	ws := mustGet[*tessera.Workspace](t)(store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{Name: "new", Now: now}))
	if ws.ID != 8 {
		t.Errorf("new workspace id %d, want 8", ws.ID)
	}
	newToken, newHash := tessera.NewAPIToken()
	k := mustGet[*tessera.APIKey](t)(store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{Name: "new", Hash: newHash,
		Prefix: tessera.TokenPrefix(newToken), WorkspaceIDs: []int64{1}, Now: now}))
	if k.ID != 4 {
		t.Errorf("new key id %d, want 4", k.ID)
	}
	a := mustGet[*tessera.Agent](t)(store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: now, Agent: &tessera.Agent{
		WorkspaceID: 1, Slug: "new", Title: "New", Type: "chat", MaxIterations: 1, MultitaskStrategy: "enqueue"}}))
	if a.ID != src.deletedAgent+1 {
		t.Errorf("new agent id %d, want %d (past the deleted agent %d)", a.ID, src.deletedAgent+1, src.deletedAgent)
	}
	in := mustGet[*tessera.Instance](t)(store.InstanceCreate(ctx, &tessera.InstanceCreateParams{Now: now,
		Instance: &tessera.Instance{WorkspaceID: 1, AgentID: a.ID, Name: "new"}}))
	if in.ID != src.deletedInstance+1 {
		t.Errorf("new instance id %d, want %d (past the deleted instance %d)", in.ID, src.deletedInstance+1, src.deletedInstance)
	}
	x, _, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Now: now, Execution: &tessera.Execution{
		WorkspaceID: 1, AgentID: a.ID, Inputs: map[string]any{}, Messages: []tessera.Message{{Role: "user", Content: "x"}}}})
	must(t, err)
	if x.ID != 9 {
		t.Errorf("new execution id %d, want 9", x.ID)
	}

	// The target's sweeper hands the running executions on: the one whose
	// cancel was requested ends cancelled, the other is requeued.
	requeued, failed, err := store.ExecutionRequeueExpired(ctx, &tessera.ExecutionRequeueParams{Now: time.Now(), MaxAttempts: 3})
	must(t, err)
	equal(t, "requeued", requeued, []int64{src.running})
	equal(t, "ended", failed, []int64{src.cancelRunning})
	if got := mustGet[*tessera.Execution](t)(store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: src.cancelRunning})); got.Status != tessera.StatusCancelled {
		t.Errorf("execution %d is %s, want cancelled", got.ID, got.Status)
	}

	// A worker on the target is handed every queued execution.
	ran := make(chan int64, 16)
	must(t, q.Start(ctx, runnerFunc(func(_ context.Context, id int64) error { ran <- id; return nil })))
	want := append(slices.Clone(src.queued), src.running, x.ID)
	var got []int64
	deadline := time.After(30 * time.Second)
	for len(got) < len(want) {
		select {
		case id := <-ran:
			got = append(got, id)
		case <-deadline:
			t.Errorf("worker ran %v in 30s, want %v", got, want)
			want = got
		}
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	must(t, q.Stop(stopCtx))
	slices.Sort(got)
	slices.Sort(want)
	equal(t, "executions run", got, want)

	// The same copy again: the target is no longer empty.
	_, _, err = runCopyCLI(t, "sqlite:"+src.path, targetURL(url, schema))
	if err == nil || !strings.Contains(err.Error(), "not empty") || exitCode(err) != 1 {
		t.Fatalf("copy into a filled target: %v, want a refusal", err)
	}
	var n int
	must(t, store.Pool().QueryRow(ctx, `SELECT COUNT(*) FROM executions`).Scan(&n))
	if n != 9 {
		t.Errorf("target has %d executions after a refused copy, want 9", n)
	}
}

type runnerFunc func(ctx context.Context, executionID int64) error

func (f runnerFunc) RunExecution(ctx context.Context, executionID int64) error {
	return f(ctx, executionID)
}

// A source held by a running server is refused before anything is opened
// on the target.
func TestCopyRefusesLockedSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	held, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{Path: path})
	must(t, err)
	defer held.Close()
	_, _, err = runCopyCLI(t, path, "postgres://nobody@127.0.0.1:1/none")
	if !errors.Is(err, errSourceLocked) || !strings.Contains(err.Error(), "stop that server") {
		t.Fatalf("copy of a held source: %v, want errSourceLocked telling to stop the server", err)
	}
}

// A missing source is an error, and no database is created in its place.
func TestCopyRefusesMissingSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nothing.db")
	_, _, err := runCopyCLI(t, "sqlite:"+path, "postgres://nobody@127.0.0.1:1/none")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("copy of a missing source: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the copy created %s: %v", path, err)
	}
}

func TestMigrateCopyUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"from alone":        {"migrate", "--from", "sqlite:x.db"},
		"to alone":          {"migrate", "--to", "postgres://h/db"},
		"to not postgres":   {"migrate", "--from", "x.db", "--to", "sqlite:y.db"},
		"from postgres":     {"migrate", "--from", "postgres://h/a", "--to", "postgres://h/b"},
		"with database-url": {"migrate", "--from", "x.db", "--to", "postgres://h/b", "--database-url", "postgres://h/c"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Run(t.Context(), args, copyEnv, &out, &errOut)
			if exitCode(err) != 2 {
				t.Fatalf("%v: %v (exit %d), want a usage error", args, err, exitCode(err))
			}
		})
	}
}

// A table the copy does not know would be left behind: refused, with the
// target left empty.
func TestCopyRefusesUnknownSourceTable(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{Path: path})
	must(t, err)
	_, err = s.DB().ExecContext(t.Context(), `CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	must(t, err)
	must(t, s.Close())
	_, _, err = runCopyCLI(t, path, targetURL(url, schema))
	if err == nil || !strings.Contains(err.Error(), "files") {
		t.Fatalf("copy with an unknown table: %v", err)
	}
}

// A row PostgreSQL cannot store fails the copy with the row named, and
// writes nothing: once the row is fixed the same copy succeeds.
func TestCopyFailsWholeAndRetries(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := t.Context()
	src := buildSource(t, filepath.Join(t.TempDir(), "tessera.db"))
	bad := src.execs[1][0].ID
	s, err := sqlite.Open(ctx, sqlite.Config{Path: src.path})
	must(t, err)
	_, err = s.DB().ExecContext(ctx, `UPDATE executions SET output = 'nul '||char(0)||' byte' WHERE id = ?`, bad)
	must(t, err)
	must(t, s.Close())

	_, _, err = runCopyCLI(t, "sqlite:"+src.path, targetURL(url, schema))
	if err == nil || !strings.Contains(err.Error(), "executions rows") || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("copy of a NUL in text: %v, want an error naming the rows and the cause", err)
	}
	store, _ := openTarget(t, url, schema)
	for _, table := range []string{"workspaces", "api_keys", "agents", "executions", "execution_events", "river_job"} {
		var n int
		must(t, store.Pool().QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		if n != 0 {
			t.Errorf("after a failed copy the target's %s has %d rows, want none", table, n)
		}
	}

	s, err = sqlite.Open(ctx, sqlite.Config{Path: src.path})
	must(t, err)
	_, err = s.DB().ExecContext(ctx, `UPDATE executions SET output = 'fixed' WHERE id = ?`, bad)
	must(t, err)
	must(t, s.Close())
	stdout, _, err := runCopyCLI(t, "sqlite:"+src.path, targetURL(url, schema))
	if err != nil {
		t.Fatalf("copy after the fix: %v", err)
	}
	if !strings.Contains(stdout, "verified") {
		t.Errorf("stdout:\n%s", stdout)
	}
	got := mustGet[*tessera.Execution](t)(store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: bad}))
	if got.Output != "fixed" {
		t.Errorf("output %q", got.Output)
	}
}

// Every column of every table arrives unchanged, compared row by row
// between the two databases with SQL (independently of the copy's own
// conversions), at whatever schema version this tree is: a column that a
// migration adds and no Store method returns is still covered.
func TestCopyCopiesEveryColumn(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	ctx := t.Context()
	src := buildSource(t, filepath.Join(t.TempDir(), "tessera.db"))

	if _, stderr, err := runCopyCLI(t, "sqlite:"+src.path, targetURL(url, schema)); err != nil {
		t.Fatalf("copy: %v\n%s", err, stderr)
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: src.path})
	must(t, err)
	defer s.Close()
	var version int64
	must(t, s.DB().QueryRowContext(ctx, `SELECT MAX(version_id) FROM tessera_migrations WHERE is_applied`).Scan(&version))
	target, _ := openTarget(t, url, schema)

	// Columns the copy changes on purpose, checked through the Store API
	// by TestCopySQLiteToPostgres.
	changed := func(table string, row map[string]string, col string) bool {
		return table == "executions" && ((row["status"] == "queued" && col == "job_id") ||
			(row["status"] == "running" && col == "lease_expires_at"))
	}
	for _, tbl := range tablesAt(version) {
		srcRows := dumpSQLite(t, s.DB(), tbl)
		dstRows := dumpPG(t, target.Pool(), tbl)
		if len(srcRows) == 0 {
			t.Errorf("%s: the source has no rows, so the test checks nothing", tbl.name)
		}
		if len(srcRows) != len(dstRows) {
			t.Errorf("%s: %d rows in the source, %d in the target", tbl.name, len(srcRows), len(dstRows))
			continue
		}
		for i := range srcRows {
			for _, col := range tbl.cols {
				got, want := dstRows[i][col.name], srcRows[i][col.name]
				if got != want && !changed(tbl.name, srcRows[i], col.name) {
					t.Errorf("%s row %d, %s: target %q, source %q", tbl.name, i, col.name, got, want)
				}
			}
		}
	}
}

// dumpSQLite reads every row of tbl in key order, each value as text in a
// form both databases can be brought to.
func dumpSQLite(t *testing.T, db *sql.DB, tbl copyTable) []map[string]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT `+sqliteIdents(tbl.colNames())+` FROM "`+tbl.name+`" ORDER BY `+sqliteIdents(tbl.key))
	must(t, err)
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		vals := make([]any, len(tbl.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(t, rows.Scan(ptrs...))
		row := map[string]string{}
		for i, col := range tbl.cols {
			row[col.name] = normalize(t, col.kind, vals[i], true)
		}
		out = append(out, row)
	}
	must(t, rows.Err())
	return out
}

func dumpPG(t *testing.T, pool *pgxpool.Pool, tbl copyTable) []map[string]string {
	t.Helper()
	cols := make([]string, len(tbl.cols))
	for i, c := range tbl.cols {
		cols[i] = pgx.Identifier{c.name}.Sanitize()
		if c.kind == kJSON || c.kind == kNullJSON {
			cols[i] += "::text" // the stored text, not pgx's decoding of it
		}
	}
	keys := make([]string, len(tbl.key))
	for i, k := range tbl.key {
		keys[i] = pgx.Identifier{k}.Sanitize()
	}
	rows, err := pool.Query(t.Context(), `SELECT `+strings.Join(cols, ", ")+` FROM `+pgx.Identifier{tbl.name}.Sanitize()+` ORDER BY `+strings.Join(keys, ", "))
	must(t, err)
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		vals, err := rows.Values()
		must(t, err)
		row := map[string]string{}
		for i, col := range tbl.cols {
			row[col.name] = normalize(t, col.kind, vals[i], false)
		}
		out = append(out, row)
	}
	must(t, rows.Err())
	return out
}

// normalize renders a value of either database as comparable text: times
// as RFC 3339 in UTC (SQLite's integer microseconds converted here, not by
// the copy), booleans as true/false, JSON re-encoded (jsonb reorders keys).
func normalize(t *testing.T, kind colKind, v any, fromSQLite bool) string {
	t.Helper()
	if v == nil {
		return "NULL"
	}
	switch kind {
	case kTime, kNullTime:
		if fromSQLite {
			return time.UnixMicro(v.(int64)).UTC().Format(time.RFC3339Nano)
		}
		return v.(time.Time).UTC().Format(time.RFC3339Nano)
	case kBool:
		if fromSQLite {
			return fmt.Sprint(v.(int64) != 0)
		}
		return fmt.Sprint(v.(bool))
	case kJSON, kNullJSON:
		s, ok := v.(string)
		if !ok {
			s = string(v.([]byte))
		}
		var x any
		must(t, json.Unmarshal([]byte(s), &x))
		b, err := json.Marshal(x)
		must(t, err)
		return string(b)
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}
