package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/server"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/echo"
	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
)

const adminToken = "fuzz-admin-token"

// stack is one real server for a fuzz target: SQLite, the queue, the
// engine running executions inline on the echo provider, and every
// surface behind the shared middleware.
type stack struct {
	handler http.Handler
	store   *sqlite.Store
	engine  *engine.Engine
	token   string
	log     *logBuffer
	// Chat is a bare chat agent, Topical a chat agent with a required
	// question and a prompt, Writer a text agent with a question of every
	// type; ChatInst and WriterInst are instances of them.
	Chat, Topical, Writer *tessera.Agent
	ChatInst, WriterInst  *tessera.Instance
}

func newStack(f *testing.F) *stack {
	f.Helper()
	ctx := context.Background()
	s := &stack{log: &logBuffer{}}
	log := slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelError}))
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: filepath.Join(f.TempDir(), "tessera.db")})
	must(f, err)
	f.Cleanup(func() { _ = store.Close() })
	s.store = store
	driver := riversqlite.New(store.DB())
	must(f, queue.Migrate(ctx, driver))
	q, err := queue.New(driver, queue.Config{Workers: 2, PollInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	must(f, err)
	store.SetEnqueue(q.InsertTx)
	reg, err := llm.NewRegistry(llm.RegistryConfig{Providers: []llm.Provider{echo.New(echo.Config{})}, DefaultModel: "echo"})
	must(f, err)
	s.engine, err = engine.New(engine.Config{Store: store, Registry: reg, Logger: log, Concurrency: 64, PollInterval: 50 * time.Millisecond})
	must(f, err)
	must(f, s.engine.Start(ctx))
	must(f, q.Start(ctx, s.engine))
	f.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
		s.engine.Stop(stopCtx)
	})
	s.handler = server.New(server.Config{Store: store, Engine: s.engine, Registry: reg, Logger: log,
		AdminToken: adminToken, MaxWait: 2 * time.Second, SSEHeartbeat: time.Second})
	s.seed(f)
	return s
}

func (s *stack) seed(f *testing.F) {
	f.Helper()
	ctx, now := context.Background(), time.Now()
	_, err := s.store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "default", Now: now})
	if tessera.ErrorCode(err) != tessera.ECONFLICT {
		must(f, err)
	}
	token, hash := tessera.NewAPIToken()
	_, err = s.store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
		Name: "fuzz", Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: []int64{tessera.DefaultWorkspaceID}, Now: now,
	})
	must(f, err)
	s.token = token
	s.Chat = s.agent(f, &tessera.Agent{Slug: "helper", Title: "Helper", Type: tessera.AgentTypeChat})
	s.Topical = s.agent(f, &tessera.Agent{Slug: "topical", Title: "Topical", Type: tessera.AgentTypeChat,
		Prompt: "Talk about {{topic}}.", Questions: []tessera.Question{{Name: "topic", Type: tessera.QuestionText, Required: true}}})
	s.Writer = s.agent(f, &tessera.Agent{Slug: "writer", Title: "Writer", Type: tessera.AgentTypeText,
		Prompt: "Write {{topic}} {{n}} {{flag}} {{pick}} {{many}} {{list}} {{obj}} {{doc}}.", Questions: []tessera.Question{
			{Name: "topic", Type: tessera.QuestionText}, {Name: "n", Type: tessera.QuestionNumber},
			{Name: "flag", Type: tessera.QuestionBoolean}, {Name: "pick", Type: tessera.QuestionSelect, Options: []string{"a", "b"}},
			{Name: "many", Type: tessera.QuestionMultiselect, Options: []string{"x", "y"}}, {Name: "list", Type: tessera.QuestionArray},
			{Name: "obj", Type: tessera.QuestionObject}, {Name: "doc", Type: tessera.QuestionFile},
		}})
	s.ChatInst = s.instance(f, s.Chat, tessera.InstanceConfig{InputDefaults: map[string]any{"query": "default"}})
	s.WriterInst = s.instance(f, s.Writer, tessera.InstanceConfig{InputDefaults: map[string]any{"topic": "cats"}})
}

func (s *stack) agent(f *testing.F, a *tessera.Agent) *tessera.Agent {
	f.Helper()
	a.WorkspaceID = tessera.DefaultWorkspaceID
	must(f, a.Validate())
	created, err := s.store.AgentCreate(context.Background(), &tessera.AgentCreateParams{Agent: a, Now: time.Now()})
	must(f, err)
	return created
}

func (s *stack) instance(f *testing.F, a *tessera.Agent, cfg tessera.InstanceConfig) *tessera.Instance {
	f.Helper()
	in, err := s.store.InstanceCreate(context.Background(), &tessera.InstanceCreateParams{Now: time.Now(),
		Instance: &tessera.Instance{WorkspaceID: tessera.DefaultWorkspaceID, AgentID: a.ID, Name: a.Slug, Config: cfg}})
	must(f, err)
	return in
}

// reply is a recorded response.
type reply struct {
	status int
	header http.Header
	body   []byte
	// hung reports that the handler was still busy when the request's
	// deadline came.
	hung bool
}

// do serves one request for path with the raw query. header values are
// set as sent, unchecked, as a client could send them; a path the server
// would not parse is skipped.
func (s *stack) do(t *testing.T, method, path, query string, header map[string]string, body []byte) reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, method, "http://tessera.test"+path, bytes.NewReader(body))
	if err != nil {
		t.Skip("not a request path")
	}
	r.URL.RawQuery = query
	r.Header.Set("Content-Type", "application/json")
	if _, ok := header["Authorization"]; !ok {
		r.Header.Set("Authorization", "Bearer "+s.token)
	}
	for k, v := range header {
		r.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: b, hung: ctx.Err() != nil}
}

// check fails t on a 5xx (with what the server logged) and on an error
// body not in the surface's shape, which shape checks.
func (s *stack) check(t *testing.T, what string, rep reply, shape func(status int, h http.Header, body []byte) string) {
	t.Helper()
	if rep.hung {
		t.Fatalf("%s: no complete answer within 5 s (status %d, %q)", what, rep.status, clip(rep.body))
	}
	if rep.status >= 500 {
		t.Fatalf("%s: status %d %s\nserver log:\n%s", what, rep.status, clip(rep.body), s.log.take())
	}
	if rep.status >= 400 {
		if problem := shape(rep.status, rep.header, rep.body); problem != "" {
			t.Fatalf("%s: status %d body %s: %s", what, rep.status, clip(rep.body), problem)
		}
	}
}

// tessShape is Tess's {"error": …}; a 422 adds message and, per field,
// messages and errors.
func tessShape(status int, _ http.Header, body []byte) string {
	var b struct {
		Error    *string             `json:"error"`
		Message  *string             `json:"message"`
		Messages map[string][]string `json:"messages"`
		Errors   map[string][]string `json:"errors"`
	}
	switch {
	case json.Unmarshal(body, &b) != nil || b.Error == nil || *b.Error == "":
		return "no error message"
	case status == http.StatusUnprocessableEntity && (b.Message == nil || !reflectEqual(b.Messages, b.Errors)):
		return "a 422 without message, or with messages and errors differing"
	}
	return ""
}

// fastAPIShape is {"detail": "…"}, or a list of {loc, msg, type} for 422.
func fastAPIShape(status int, _ http.Header, body []byte) string {
	var b struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Detail) == 0 {
		return "no detail"
	}
	if status != http.StatusUnprocessableEntity {
		var s string
		if json.Unmarshal(b.Detail, &s) != nil || s == "" {
			return "detail is not a message"
		}
		return ""
	}
	var list []struct {
		Loc  []any  `json:"loc"`
		Msg  string `json:"msg"`
		Type string `json:"type"`
	}
	if json.Unmarshal(b.Detail, &list) != nil || len(list) == 0 {
		return "a 422 whose detail is not a list"
	}
	for _, d := range list {
		if len(d.Loc) == 0 || d.Msg == "" || d.Type == "" {
			return "a detail without loc, msg or type"
		}
	}
	return ""
}

// problemShape is RFC 9457 problem+json.
func problemShape(status int, h http.Header, body []byte) string {
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Errors []struct {
			Location string `json:"location"`
			Message  string `json:"message"`
		} `json:"errors"`
	}
	switch {
	case h.Get("Content-Type") != "application/problem+json":
		return "content type " + h.Get("Content-Type")
	case json.Unmarshal(body, &p) != nil || p.Type == "" || p.Title == "" || p.Status != status || p.Detail == "":
		return "not a problem with type, title, status and detail"
	}
	for _, e := range p.Errors {
		if !strings.HasPrefix(e.Location, "body.") || e.Message == "" {
			return "an error without location or message"
		}
	}
	return ""
}

// openAIShape is {"error": {"message", "type", "param", "code"}}.
func openAIShape(_ int, _ http.Header, body []byte) string {
	var b struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error == nil || b.Error.Message == "" || b.Error.Type == "" {
		return "not an OpenAI error"
	}
	return ""
}

func reflectEqual(a, b map[string][]string) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func clip(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// logBuffer collects what the server logs at error level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.buf.String()
	l.buf.Reset()
	return s
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
