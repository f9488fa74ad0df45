package main

// Round trips of the client package against a real server.

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/client"
	"github.com/tessera-run/tessera/llm/llmtest"
)

// newTestClient returns a client of s acting as token, with its own
// connections.
func newTestClient(t *testing.T, base, token string, opts ...client.Option) *client.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	opts = append([]client.Option{client.WithHTTPClient(&http.Client{Transport: tr}), client.WithUserAgent("tessera-test")}, opts...)
	return client.New(base, token, opts...)
}

// asError returns err as a *client.Error with the status, failing the test
// otherwise.
func asError(t *testing.T, err error, status int) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("err = %v (%T), want a *client.Error with status %d", err, err, status)
	}
	return e
}

func TestClientAgentsRoundTrip(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	c := newTestClient(t, s.URL, s.token)
	ctx := t.Context()
	temp := 0.5

	spec := &client.AgentSpec{Title: "Writer", Slug: "writer", Type: "text", Prompt: "Write about {{topic}}.",
		Questions: []client.Question{{Name: "topic", Type: "text", Required: true}}, Temperature: &temp,
		Tools: []string{"calculator"}, MaxIterations: 3, OutputSchema: []byte(`{"type":"object"}`)}
	a, err := c.Agents.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Slug != "writer" || a.Type != "text" || a.Prompt != spec.Prompt || *a.Temperature != 0.5 ||
		a.MaxIterations != 3 || len(a.Questions) != 1 || !a.Questions[0].Required || a.Version != 1 ||
		string(a.OutputSchema) != `{"type":"object"}` || a.CreatedAt.IsZero() {
		t.Errorf("created %+v", a)
	}
	for _, ref := range []string{"writer", itoa(a.ID)} {
		got, err := c.Agents.Get(ctx, ref)
		if err != nil || got.ID != a.ID || got.Title != "Writer" {
			t.Errorf("Get(%q) = %+v, %v", ref, got, err)
		}
	}
	list, err := c.Agents.List(ctx, &client.AgentListOptions{Query: "writ", Type: "text"})
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("List = %+v, %v", list, err)
	}

	// Update replaces: what the spec leaves out goes back to its default.
	u, err := c.Agents.Update(ctx, a.ID, &client.AgentSpec{Title: "Writer 2", Type: "text", Prompt: "Write."})
	if err != nil || u.Title != "Writer 2" || len(u.Tools) != 0 || u.Temperature != nil || u.Slug != "writer" || u.Version != 2 {
		t.Errorf("Update = %+v, %v", u, err)
	}
	p, err := c.Agents.Patch(ctx, a.ID, map[string]any{"description": "Writes."})
	if err != nil || p.Description != "Writes." || p.Title != "Writer 2" {
		t.Errorf("Patch = %+v, %v", p, err)
	}

	applied, result, err := c.Agents.Apply(ctx, &client.AgentSpec{Title: "Applied", Slug: "applied"})
	if err != nil || result != client.Created {
		t.Fatalf("Apply = %v, %v", result, err)
	}
	again, result, err := c.Agents.Apply(ctx, &client.AgentSpec{Title: "Applied again", Slug: "applied"})
	if err != nil || result != client.Updated || again.ID != applied.ID || again.Title != "Applied again" {
		t.Errorf("second Apply = %+v, %v, %v", again, result, err)
	}
	if _, _, err := c.Agents.Apply(ctx, &client.AgentSpec{Title: "No slug"}); !errors.Is(err, client.ErrNoSlug) {
		t.Errorf("Apply without a slug: %v", err)
	}

	if err := c.Agents.Delete(ctx, "writer"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Agents.Get(ctx, itoa(a.ID))
	asError(t, err, http.StatusNotFound)
	_, err = c.Agents.Get(ctx, "writer")
	asError(t, err, http.StatusNotFound)
	asError(t, c.Agents.Delete(ctx, itoa(a.ID)), http.StatusNotFound)
}

// Every surface's error shape becomes an *Error with the message and the
// fields.
func TestClientErrorsCarryStatusMessageAndFields(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	c := newTestClient(t, s.URL, s.token)
	ctx := t.Context()

	_, err := c.Agents.Create(ctx, &client.AgentSpec{Type: "poem", Temperature: new(9.0)})
	e := asError(t, err, http.StatusUnprocessableEntity)
	if len(e.Fields["title"]) == 0 || len(e.Fields["type"]) == 0 || len(e.Fields["temperature"]) == 0 || e.Message == "" {
		t.Errorf("native 422 = %+v", e)
	}
	if !strings.Contains(e.Error(), "422 Unprocessable Entity") || !strings.Contains(e.Error(), "title: ") {
		t.Errorf("Error() = %q", e.Error())
	}

	_, err = c.Execute(ctx, 999999, &client.ExecuteRequest{Message: "hi"})
	if e := asError(t, err, http.StatusNotFound); e.Message != "Agent not found" {
		t.Errorf("Tess 404 message %q", e.Message)
	}
	id := s.createAgent(t, map[string]any{"title": "Asker", "type": "text", "prompt": "{{topic}}",
		"questions": []map[string]any{{"name": "topic", "type": "text", "required": true}}}, nil)
	_, err = c.Execute(ctx, id, &client.ExecuteRequest{})
	if e := asError(t, err, http.StatusUnprocessableEntity); len(e.Fields["topic"]) == 0 {
		t.Errorf("Tess 422 = %+v", e)
	}

	_, err = c.Executions.List(ctx, &client.ExecutionListOptions{Status: "bogus"})
	if e := asError(t, err, http.StatusUnprocessableEntity); len(e.Fields["query.status"]) == 0 {
		t.Errorf("FastAPI 422 = %+v", e)
	}
	_, err = c.Executions.Get(ctx, 999999)
	if e := asError(t, err, http.StatusNotFound); e.Message != "Execution not found" {
		t.Errorf("FastAPI 404 message %q", e.Message)
	}

	bad := newTestClient(t, s.URL, "tsk_wrong")
	_, err = bad.Models.List(ctx)
	asError(t, err, http.StatusUnauthorized)
	_, err = bad.Response(ctx, 1)
	if e := asError(t, err, http.StatusForbidden); e.Message != "Invalid authentication" {
		t.Errorf("Tess 403 message %q", e.Message)
	}
}

func TestClientExecuteAndExecutions(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{Handler: cliCalcTask()})
	c := newTestClient(t, s.URL, s.token)
	ctx := t.Context()
	calc := cliCalcAgent(t, s)

	res, err := c.Execute(ctx, calc, &client.ExecuteRequest{Message: "six times seven?"})
	if err != nil || res.Status != client.ResponseSucceeded || res.Output != "The answer is 42." || res.AgentID != calc || !res.Done() {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
	ex, err := c.Executions.Get(ctx, res.ID)
	if err != nil || ex.Status != client.StatusCompleted || len(ex.Iterations) != 2 || ex.TotalTokens != 115 {
		t.Fatalf("Executions.Get = %+v, %v", ex, err)
	}
	step := ex.Iterations[0]
	if step.Action != "calculator" || string(step.ActionInput) != `{"expression":"6*7"}` || step.Observation != "42" ||
		step.InputTokens != 40 || step.OutputTokens != 10 || ex.Iterations[1].Action != client.FinalAnswer {
		t.Errorf("iterations = %+v", ex.Iterations)
	}

	s.Fake.SetHandler(llmtest.DefaultHandler)
	echo := s.chatAgent(t, "Echo")
	id, err := c.ExecuteAsync(ctx, echo, &client.ExecuteRequest{Message: "async", Inputs: map[string]any{"model": "an input"},
		IdempotencyKey: "once"})
	if err != nil || id == 0 {
		t.Fatalf("ExecuteAsync = %d, %v", id, err)
	}
	if again, err := c.ExecuteAsync(ctx, echo, &client.ExecuteRequest{Message: "async", Inputs: map[string]any{"model": "an input"},
		IdempotencyKey: "once"}); err != nil || again != id {
		t.Errorf("the same idempotency key made execution %d, want %d (%v)", again, id, err)
	}
	waited, err := c.Wait(ctx, id)
	if err != nil || waited.Status != client.ResponseSucceeded || waited.Output != "fake: async" {
		t.Errorf("Wait = %+v, %v", waited, err)
	}

	list, err := c.Executions.List(ctx, &client.ExecutionListOptions{AgentID: calc, Status: client.StatusCompleted, Limit: 10})
	if err != nil || list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != res.ID {
		t.Errorf("List(agent, completed) = %+v, %v", list, err)
	}
	list, err = c.Executions.List(ctx, &client.ExecutionListOptions{CreatedAfter: time.Now().Add(time.Hour)})
	if err != nil || list.Total != 0 {
		t.Errorf("List(created after an hour from now) = %+v, %v", list, err)
	}
	all, err := c.Executions.List(ctx, nil)
	if err != nil || all.Total != 2 || all.Items[0].ID != id {
		t.Errorf("List(nil) = %+v, %v; want the newest first", all, err)
	}
}

func TestClientCancel(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	c := newTestClient(t, s.URL, s.token)
	ctx := t.Context()
	agent := s.chatAgent(t, "Slow")
	s.Fake.Block()
	t.Cleanup(s.Fake.Release)

	id, err := c.ExecuteAsync(ctx, agent, &client.ExecuteRequest{Message: "wait for me"})
	if err != nil {
		t.Fatal(err)
	}
	cliAwaitRequest(t, s.Fake, "wait for me")
	r, err := c.Executions.Cancel(ctx, id)
	if err != nil || r.ID != id || !r.CancelRequested {
		t.Fatalf("Cancel = %+v, %v", r, err)
	}
	res, err := c.Wait(ctx, id)
	if err != nil || res.Status != client.ResponseFailed || res.Error == "" {
		t.Errorf("after cancel: %+v, %v", res, err)
	}
	_, err = c.Executions.Cancel(ctx, id)
	asError(t, err, http.StatusConflict)
}

// Events yields every event exactly once, in order, even when the
// connection drops mid-stream: it reconnects with Last-Event-ID.
func TestClientEventsResumeAfterADroppedConnection(t *testing.T) {
	t.Parallel()
	words := []string{"one", " two", " three", " four", " five", " six"}
	s := cliSetup(t, opts{Handler: func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: strings.Join(words, ""), Chunks: words, ChunkDelay: 60 * time.Millisecond}
	}})
	agent := s.chatAgent(t, "Streamer")
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	px := newCLIProxy(t, u.Host)
	c := newTestClient(t, px.URL(), s.token)
	ctx := t.Context()

	id, err := c.ExecuteAsync(ctx, agent, &client.ExecuteRequest{Message: "count"})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	var text strings.Builder
	var last *client.Event
	dropped, atDrop := false, 0
	for ev, err := range c.Events(ctx, id, nil) {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ev.Seq)
		text.WriteString(ev.Text())
		last = ev
		if ev.Type == client.EventDelta && !dropped {
			dropped, atDrop = true, px.connections()
			px.drop()
		}
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("event seqs %v, want 1…n once each", seqs)
		}
	}
	if text.String() != strings.Join(words, "") || last == nil || last.Type != client.EventDone || last.ExecutionID != id {
		t.Errorf("text %q, last event %+v", text.String(), last)
	}
	if d, err := last.Done(); err != nil || d.Status != client.StatusCompleted || d.Output != strings.Join(words, "") {
		t.Errorf("done = %+v, %v", d, err)
	}
	if n := px.connections(); !dropped || n <= atDrop {
		t.Errorf("%d connections through the proxy, %d at the drop: want a reconnect", n, atDrop)
	}

	// After the end, the stream replays from any point.
	var after []int64
	err = c.FollowEvents(ctx, id, &client.EventsOptions{After: seqs[len(seqs)-3]}, func(ev *client.Event) error {
		after = append(after, ev.Seq)
		return nil
	})
	if err != nil || !slices.Equal(after, seqs[len(seqs)-2:]) {
		t.Errorf("FollowEvents(after %d) = %v, %v; want %v", seqs[len(seqs)-3], after, err, seqs[len(seqs)-2:])
	}
	// A consumer may stop early.
	n := 0
	for range c.Events(ctx, id, nil) {
		if n++; n == 2 {
			break
		}
	}
	for _, err := range c.Events(ctx, 999999, nil) {
		asError(t, err, http.StatusNotFound)
	}
}

func TestClientKeysAndModels(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	c := newTestClient(t, s.URL, s.token)
	ctx := t.Context()
	ws := s.createWorkspace(t, "second")

	k, err := c.Keys.Create(ctx, &client.KeyCreateRequest{Name: "robot", WorkspaceIDs: []int64{ws}})
	if err != nil || k.Token == "" || k.Name != "robot" || !slices.Equal(k.WorkspaceIDs, []int64{ws}) {
		t.Fatalf("Keys.Create = %+v, %v", k, err)
	}
	robot := newTestClient(t, s.URL, k.Token)
	if _, err := robot.Agents.Create(ctx, &client.AgentSpec{Title: "In second", Slug: "in-second"}); err != nil {
		t.Fatal(err)
	}
	// The administrator sees it only in that workspace.
	if _, err := c.Agents.Get(ctx, "in-second"); err == nil {
		t.Error("the agent of workspace 2 is visible in the default workspace")
	}
	inSecond := newTestClient(t, s.URL, s.token, client.WithWorkspace(ws))
	if a, err := inSecond.Agents.Get(ctx, "in-second"); err != nil || a.WorkspaceID != ws {
		t.Errorf("WithWorkspace: %+v, %v", a, err)
	}

	keys, err := c.Keys.List(ctx)
	if err != nil || !slices.ContainsFunc(keys, func(x *client.Key) bool { return x.ID == k.ID && x.Prefix != "" }) {
		t.Errorf("Keys.List = %+v, %v", keys, err)
	}
	if err := c.Keys.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = robot.Agents.List(ctx, nil)
	asError(t, err, http.StatusUnauthorized)
	asError(t, c.Keys.Revoke(ctx, 999999), http.StatusNotFound)

	m, err := c.Models.List(ctx)
	if err != nil || m.DefaultModel != defaultModel || !slices.ContainsFunc(m.Data, func(x client.Model) bool { return x.Name == defaultModel && x.Default }) {
		t.Errorf("Models.List = %+v, %v", m, err)
	}
}

func TestClientUnreachableServerIsATransportError(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, unreachableURL(t), "k")
	_, err := c.Models.List(t.Context())
	var ue *url.Error
	var ce *client.Error
	if !errors.As(err, &ue) || errors.As(err, &ce) {
		t.Errorf("err = %v (%T), want a *url.Error", err, err)
	}
	for _, err := range c.Events(t.Context(), 1, nil) {
		if !errors.As(err, &ue) {
			t.Errorf("Events: %v, want the transport error at once", err)
		}
	}
}
