package main

// The end-to-end harness: it starts the real program (Run) on port 0, in
// process or as a child process of the test binary, against an llmtest fake
// provider, and talks to it over HTTP like a client would.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// childEnv marks a re-executed test binary that is to run the server.
const childEnv = "TESSERA_E2E_CHILD"

// defaultModel is TESSERA_DEFAULT_MODEL in every test server.
const defaultModel = "fake-default-model"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain())
	}
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(base, 5*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of the server outlive every test:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// childMain is the re-executed test binary: a real server process, with
// main's signal handling, running the arguments after "--".
func childMain() int {
	args := os.Args[1:]
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[i+1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tessera:", err)
		return exitCode(err)
	}
	return 0
}

// leakedGoroutines waits up to d for the goroutines started by servers to
// end, and describes those of Tessera or River that remain.
func leakedGoroutines(base int, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "TestMain") || strings.Contains(g, "leakedGoroutines") {
				continue
			}
			if strings.Contains(g, "tessera-run/tessera/") || strings.Contains(g, "riverqueue/river") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// Starting servers.

// opts configures setup.
type opts struct {
	// Env overrides the default environment; an empty value unsets.
	Env map[string]string
	// NoAdmin leaves TESSERA_ADMIN_TOKEN unset, so the server bootstraps a key.
	NoAdmin bool
	// DataDir reuses a data directory (a restart); default a fresh one.
	DataDir string
	// Config is the YAML of a config file (TESSERA_CONFIG).
	Config string
	// Fake is the provider to use; default a new one with Handler.
	Fake    *llmtest.Server
	Handler llmtest.Handler
	// Args are extra serve arguments.
	Args []string
}

// testServer is a running in-process server.
type testServer struct {
	*api
	Fake    *llmtest.Server
	DataDir string
	Env     map[string]string
	Stdout  *logBuffer
	Stderr  *logBuffer

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// setup starts the real program in process with its own environment, data
// dir and fake provider, and stops it when the test ends.
func setup(t *testing.T, o opts) *testServer {
	t.Helper()
	env := testEnv(t, &o)
	s := &testServer{Fake: o.Fake, DataDir: env["TESSERA_DATA_DIR"], Env: env, Stdout: newLogBuffer(), Stderr: newLogBuffer()}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0"}, o.Args...)
	go func() {
		s.done <- Run(ctx, args, getenvFrom(env), s.Stdout, s.Stderr)
	}()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("server stopped with %v\nstderr:\n%s", err, s.Stderr)
		}
	})
	select {
	case u := <-s.Stderr.url:
		s.api = newAPI(u, env["TESSERA_ADMIN_TOKEN"])
		t.Cleanup(s.api.close)
	case err := <-s.done:
		s.done <- err
		t.Fatalf("server exited before listening: %v\nstderr:\n%s", err, s.Stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not listen within 60s\nstderr:\n%s", s.Stderr)
	}
	if o.NoAdmin {
		if tok := bootstrapToken(s.Stdout.String()); tok != "" {
			s.api.token = tok
		}
	}
	return s
}

// stop cancels the server's context and waits for Run to return.
func (s *testServer) stop() error {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.stopErr = <-s.done:
		case <-time.After(30 * time.Second):
			s.stopErr = fmt.Errorf("Run did not return within 30s of its context ending")
		}
		if s.api != nil {
			s.api.close()
		}
	})
	return s.stopErr
}

// Stop stops the server now, failing the test when Run returns an error.
func (s *testServer) Stop(t *testing.T) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\nstderr:\n%s", err, s.Stderr)
	}
}

// restart stops s and starts a server on the same data dir, environment
// and fake provider, with o's changes (Config replaces the config file).
func (s *testServer) restart(t *testing.T, o opts) *testServer {
	t.Helper()
	s.Stop(t)
	env := map[string]string{}
	for k, v := range s.Env {
		env[k] = v
	}
	if o.Config != "" {
		delete(env, "TESSERA_CONFIG") // replaced by the new file
	}
	for k, v := range o.Env {
		env[k] = v
	}
	o.Env, o.DataDir, o.Fake = env, s.DataDir, s.Fake
	return setup(t, o)
}

// testEnv builds the environment of a test server, filling o.Fake.
func testEnv(t *testing.T, o *opts) map[string]string {
	t.Helper()
	if o.Fake == nil {
		o.Fake = llmtest.NewTest(t, llmtest.Config{Handler: o.Handler})
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	// Inserted jobs wake the queue at once, so the poll interval only bounds
	// how soon a snoozed job runs again; polling is most of an idle server's
	// CPU under -race, so it is kept long.
	env := map[string]string{
		"TESSERA_DATA_DIR":            o.DataDir,
		"TESSERA_ADMIN_TOKEN":         "admin-" + randomHex(16),
		"OPENAI_BASE_URL":             o.Fake.URL + "/v1",
		"OPENAI_API_KEY":              "sk-test",
		"TESSERA_DEFAULT_MODEL":       defaultModel,
		"TESSERA_LEASE":               "2s",
		"TESSERA_EXECUTION_TIMEOUT":   "30s",
		"TESSERA_MAX_WAIT":            "30s",
		"TESSERA_QUEUE_POLL_INTERVAL": "2s",
		"TESSERA_SHUTDOWN_GRACE":      "3s",
		"TESSERA_WORKERS":             "4",
		"TESSERA_LOG_LEVEL":           "info",
	}
	if o.NoAdmin {
		delete(env, "TESSERA_ADMIN_TOKEN")
	}
	if o.Config != "" {
		path := filepath.Join(t.TempDir(), "tessera.yaml")
		if err := os.WriteFile(path, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		env["TESSERA_CONFIG"] = path
	}
	for k, v := range o.Env {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var tokenRE = regexp.MustCompile(`tsk_[0-9a-f]{48}`)

// bootstrapToken returns the key a fresh server printed, or "".
func bootstrapToken(stdout string) string { return tokenRE.FindString(stdout) }

// ---------------------------------------------------------------------------
// Child processes, for crashes and signals.

// child is a server running as a child process: the test binary re-executed
// with TESSERA_E2E_CHILD=1.
type child struct {
	*api
	cmd    *exec.Cmd
	Stdout *logBuffer
	Stderr *logBuffer
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// startChild starts a server process with exactly env (plus what a process
// needs) and waits until it listens. It is killed when the test ends.
func startChild(t *testing.T, env map[string]string) *child {
	t.Helper()
	c := &child{Stdout: newLogBuffer(), Stderr: newLogBuffer(), exited: make(chan struct{})}
	c.cmd = childCommand(env)
	c.cmd.Stdout, c.cmd.Stderr = c.Stdout, c.Stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		// The race detector reports a child's races on its stderr only.
		if out := c.Stderr.String(); strings.Contains(out, "WARNING: DATA RACE") || strings.Contains(out, "panic:") {
			t.Errorf("the child server raced or panicked:\n%s", out)
		}
	})
	select {
	case u := <-c.Stderr.url:
		c.api = newAPI(u, env["TESSERA_ADMIN_TOKEN"])
		t.Cleanup(c.api.close)
	case <-c.exited:
		t.Fatalf("child exited before listening: %v\nstderr:\n%s", c.err, c.Stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("child did not listen within 60s\nstderr:\n%s", c.Stderr)
	}
	return c
}

// childCommand re-executes the test binary as "tessera serve" on port 0
// with exactly env, plus what any process needs.
func childCommand(env map[string]string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "serve", "--addr", "127.0.0.1:0")
	cmd.Env = []string{childEnv + "=1"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GORACE", "GOCOVERDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// signal sends sig and waits for the process to exit, returning Wait's
// error (nil for exit status 0).
func (c *child) signal(t *testing.T, sig os.Signal, within time.Duration) error {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	select {
	case <-c.exited:
	case <-time.After(within):
		_ = c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("child did not exit within %v of %v\nstderr:\n%s", within, sig, c.Stderr)
	}
	c.api.close()
	return c.err
}

// ---------------------------------------------------------------------------
// Output capture.

var listeningRE = regexp.MustCompile(`listening on (http://[^\s"]+)`)

// logBuffer collects a server's output and announces, once, the URL of the
// "listening on http://ADDR" line.
type logBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	url   chan string
	found bool
}

func newLogBuffer() *logBuffer { return &logBuffer{url: make(chan string, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if !b.found {
		if m := listeningRE.FindStringSubmatch(b.buf.String()); m != nil {
			b.found = true
			b.url <- m[1]
		}
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---------------------------------------------------------------------------
// The HTTP client side.

// api calls a server as one bearer token.
type api struct {
	URL       string
	token     string
	client    *http.Client
	transport *http.Transport
}

func newAPI(base, token string) *api {
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	return &api{URL: base, token: token, transport: tr, client: &http.Client{Transport: tr, Timeout: 90 * time.Second}}
}

func (c *api) close() { c.transport.CloseIdleConnections() }

// as returns a client of the same server acting with token.
func (c *api) as(token string) *api {
	return &api{URL: c.URL, token: token, client: c.client, transport: c.transport}
}

// hdr holds request headers; an empty value removes a default header
// (Authorization, Content-Type).
type hdr map[string]string

// reply is a whole HTTP response.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object, failing the test otherwise.
func (r *reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil || m == nil {
		t.Fatalf("HTTP %d: body is not a JSON object (%v): %.500q", r.Status, err, r.Body)
	}
	return m
}

// doRaw sends a request. body is sent as is when it is a string, []byte or
// io.Reader (a reader is sent chunked), else as JSON; nil sends none.
func (c *api) doRaw(t testing.TB, method, path string, body any, h hdr) *reply {
	t.Helper()
	r, err := c.send(method, path, body, h)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// send is doRaw without a test: it may be called from any goroutine.
func (c *api) send(method, path string, body any, h hdr) (*reply, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("marshal body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range h {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return &reply{Status: res.StatusCode, Header: res.Header, Body: data}, nil
}

// do sends a request and returns the status and the body decoded as a JSON
// object (nil when it is not one).
func (c *api) do(t testing.TB, method, path string, body any, h hdr) (int, map[string]any) {
	t.Helper()
	r := c.doRaw(t, method, path, body, h)
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return r.Status, m
}

// must sends a request that must answer want, and returns the JSON object.
func (c *api) must(t testing.TB, want int, method, path string, body any, h hdr) map[string]any {
	t.Helper()
	r := c.doRaw(t, method, path, body, h)
	if r.Status != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %.1000s", method, path, r.Status, want, r.Body)
	}
	if want == http.StatusNoContent {
		return nil
	}
	return r.JSON(t)
}

// createWorkspace creates a workspace (the token must be the admin's).
func (c *api) createWorkspace(t testing.TB, name string) int64 {
	t.Helper()
	m := c.must(t, http.StatusCreated, "POST", "/api/v1/workspaces", map[string]any{"name": name}, nil)
	if m["name"] != name {
		t.Fatalf("created workspace %v, want name %q", m, name)
	}
	return intOf(t, m["id"])
}

// createKey creates an API key for the workspaces and returns its id and
// token.
func (c *api) createKey(t testing.TB, name string, workspaces ...int64) (int64, string) {
	t.Helper()
	m := c.must(t, http.StatusCreated, "POST", "/api/v1/api-keys", map[string]any{"name": name, "workspace_ids": workspaces}, nil)
	tok, _ := m["token"].(string)
	if tok == "" {
		t.Fatalf("created key has no token: %v", m)
	}
	return intOf(t, m["id"]), tok
}

// createAgent creates an agent with the native API and returns its id.
func (c *api) createAgent(t testing.TB, body map[string]any, h hdr) int64 {
	t.Helper()
	return intOf(t, c.must(t, http.StatusCreated, "POST", "/api/v1/agents", body, h)["id"])
}

// chatAgent creates a plain chat agent with instructions.
func (c *api) chatAgent(t testing.TB, title string) int64 {
	t.Helper()
	return c.createAgent(t, map[string]any{"title": title, "type": "chat", "instructions": "You are " + title + "."}, nil)
}

// execute posts an execute body to /agents/{id}/execute.
func (c *api) execute(t testing.TB, agentID int64, body any, h hdr) (int, map[string]any) {
	t.Helper()
	return c.do(t, "POST", fmt.Sprintf("/agents/%d/execute", agentID), body, h)
}

// run executes with the wait flag and returns responses[0], which must
// have succeeded.
func (c *api) run(t testing.TB, agentID int64, body map[string]any) map[string]any {
	t.Helper()
	b := map[string]any{"waitExecution": true}
	for k, v := range body {
		b[k] = v
	}
	m := c.must(t, http.StatusOK, "POST", fmt.Sprintf("/agents/%d/execute", agentID), b, nil)
	r := first(t, m)
	if r["status"] != "succeeded" {
		t.Fatalf("execution did not succeed: %v", r)
	}
	return r
}

// awaitResponse polls GET /agent-responses/{id} until it is terminal.
func (c *api) awaitResponse(t testing.TB, id int64, timeout time.Duration) map[string]any {
	t.Helper()
	var last map[string]any
	eventually(t, timeout, func() bool {
		status, m := c.do(t, "GET", fmt.Sprintf("/agent-responses/%d", id), nil, nil)
		if status != http.StatusOK {
			t.Fatalf("GET /agent-responses/%d: HTTP %d: %v", id, status, m)
		}
		last = m
		return m["status"] == "succeeded" || m["status"] == "failed"
	}, func() string { return fmt.Sprintf("execution %d is still %v", id, last) })
	return last
}

// responsesTotal returns the total of GET /agent-responses.
func (c *api) responsesTotal(t testing.TB) int64 {
	t.Helper()
	return intOf(t, c.must(t, http.StatusOK, "GET", "/agent-responses", nil, nil)["total"])
}

// first returns responses[0] of an execute answer.
func first(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	list, ok := m["responses"].([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("responses is not a one-item array: %v", m)
	}
	r, ok := list[0].(map[string]any)
	if !ok {
		t.Fatalf("responses[0] is not an object: %v", m)
	}
	return r
}

// ---------------------------------------------------------------------------
// Assertions and waiting.

// eventually polls cond until it holds or timeout passes. Use it only where
// the system is asynchronous; describe says what was still wrong.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, describe ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := "condition not met"
			if len(describe) > 0 {
				msg = describe[0]()
			}
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// intOf returns a JSON number that must be an integer.
func intOf(t testing.TB, v any) int64 {
	t.Helper()
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		t.Fatalf("%#v is not a JSON integer", v)
	}
	return int64(f)
}

// fieldErrors returns the per-field messages of a Tess 422 body.
func fieldErrors(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	f, ok := m["messages"].(map[string]any)
	if !ok {
		t.Fatalf("422 body has no per-field messages: %v", m)
	}
	return f
}

// problemFields returns the locations of a problem+json body's errors.
func problemFields(t testing.TB, m map[string]any) []string {
	t.Helper()
	var out []string
	list, _ := m["errors"].([]any)
	for _, e := range list {
		em, _ := e.(map[string]any)
		loc, _ := em["location"].(string)
		out = append(out, loc)
	}
	return out
}

// requestWith returns the fake's first recorded request whose last user
// message contains marker.
func requestWith(t testing.TB, fake *llmtest.Server, marker string) *llmtest.ChatRequest {
	t.Helper()
	for _, r := range fake.Requests() {
		if strings.Contains(r.LastUserMessage(), marker) {
			return r
		}
	}
	t.Fatalf("the provider received no request with %q (it received %d)", marker, len(fake.Requests()))
	return nil
}

// roles renders a provider request's messages as "role:content" lines.
func roles(r *llmtest.ChatRequest) []string {
	out := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		out[i] = m.Role + ":" + m.Content
	}
	return out
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// serveOnce runs serve with o's environment and returns how it ended; for
// configurations that must be refused at start (a valid one runs until
// the 30 s bound and returns the context's error).
func serveOnce(t *testing.T, o opts) error {
	t.Helper()
	env := testEnv(t, &o)
	env["TESSERA_ADDR"] = "127.0.0.1:0"
	var out, errOut strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return Run(ctx, []string{"serve"}, getenvFrom(env), &out, &errOut)
}
