package openaicompat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/server"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/llmtest"
	llmopenai "github.com/tessera-run/tessera/llm/openai"
	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines outlive every test:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to d for the goroutines of Tessera and River
// (streams, runs, workers) to end, and describes those that remain.
func leakedGoroutines(d time.Duration) string {
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

// defaultModel is the server's default model, on the fake provider.
const defaultModel = "fake-default"

// env is one real stack: SQLite, the queue, the engine and the HTTP
// server, with the llmtest fake as its OpenAI-compatible provider.
type env struct {
	URL    string
	Token  string
	Fake   *llmtest.Server
	Store  *sqlite.Store
	Engine *engine.Engine
	// Chat is a bare chat agent (slug "helper"), Topical a chat agent with
	// a required question and a prompt template, Text a text agent.
	Chat, Topical, Text *tessera.Agent
}

type options struct {
	// maxWait bounds non-streamed waits; default the server's.
	maxWait time.Duration
}

func setup(t *testing.T, o options) *env {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	e := &env{Fake: llmtest.NewTest(t, llmtest.Config{})}
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "tessera.db"), Logger: log})
	must(t, err)
	t.Cleanup(func() { _ = store.Close() })
	e.Store = store
	driver := riversqlite.New(store.DB())
	must(t, queue.Migrate(ctx, driver))
	q, err := queue.New(driver, queue.Config{Workers: 2, PollInterval: 50 * time.Millisecond, Logger: log})
	must(t, err)
	store.SetEnqueue(q.InsertTx)
	prov, err := llmopenai.New(llmopenai.Config{BaseURL: e.Fake.URL})
	must(t, err)
	reg, err := llm.NewRegistry(llm.RegistryConfig{Providers: []llm.Provider{prov}, DefaultModel: defaultModel})
	must(t, err)
	e.Engine, err = engine.New(engine.Config{Store: store, Registry: reg, Logger: log})
	must(t, err)
	must(t, q.Start(ctx, e.Engine))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
	})
	t.Cleanup(e.Fake.Release) // before the queue stops, so no run stays blocked
	srv := httptest.NewServer(server.New(server.Config{Store: store, Engine: e.Engine, Registry: reg, Logger: log, MaxWait: o.maxWait}))
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	e.seed(t)
	return e
}

// seed creates workspace 1, an API key for it and the agents.
func (e *env) seed(t *testing.T) {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	_, err := e.Store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "default", Now: now})
	if tessera.ErrorCode(err) != tessera.ECONFLICT {
		must(t, err)
	}
	token, hash := tessera.NewAPIToken()
	_, err = e.Store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
		Name: "test", Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: []int64{tessera.DefaultWorkspaceID}, Now: now,
	})
	must(t, err)
	e.Token = token
	e.Chat = e.agent(t, &tessera.Agent{Slug: "helper", Title: "Helper", Type: tessera.AgentTypeChat})
	e.Topical = e.agent(t, &tessera.Agent{Slug: "topical", Title: "Topical", Type: tessera.AgentTypeChat,
		Prompt: "Talk about {{topic}}.", Questions: []tessera.Question{{Name: "topic", Type: tessera.QuestionText, Required: true}}})
	e.Text = e.agent(t, &tessera.Agent{Slug: "writer", Title: "Writer", Type: tessera.AgentTypeText, Prompt: "Write."})
}

func (e *env) agent(t *testing.T, a *tessera.Agent) *tessera.Agent {
	t.Helper()
	a.WorkspaceID = tessera.DefaultWorkspaceID
	must(t, a.Validate())
	created, err := e.Store.AgentCreate(context.Background(), &tessera.AgentCreateParams{Agent: a, Now: time.Now()})
	must(t, err)
	return created
}

// client is the official SDK pointed at base (a path on the server).
func (e *env) client(base string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{
		option.WithBaseURL(e.URL + base), option.WithAPIKey(e.Token), option.WithMaxRetries(0),
	}, opts...)...)
	return &c
}

// agentClient is the SDK with an agent's Tess base URL.
func (e *env) agentClient(a *tessera.Agent, opts ...option.RequestOption) *openai.Client {
	return e.client("/agents/"+strconv.FormatInt(a.ID, 10)+"/openai", opts...)
}

// post sends a raw JSON request and returns the response and its body.
func (e *env) post(t *testing.T, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	must(t, err)
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(string(b)))
	must(t, err)
	return do(t, req, token)
}

func (e *env) get(t *testing.T, path, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	must(t, err)
	return do(t, req, token)
}

func do(t *testing.T, req *http.Request, token string) (*http.Response, []byte) {
	t.Helper()
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	must(t, err)
	return res, body
}

// lastRequest is the provider's latest request.
func (e *env) lastRequest(t *testing.T) *llmtest.ChatRequest {
	t.Helper()
	reqs := e.Fake.Requests()
	if len(reqs) == 0 {
		t.Fatal("the provider got no request")
	}
	return reqs[len(reqs)-1]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func userMessages(texts ...string) []openai.ChatCompletionMessageParamUnion {
	out := make([]openai.ChatCompletionMessageParamUnion, len(texts))
	for i, s := range texts {
		out[i] = openai.UserMessage(s)
	}
	return out
}
