package main

// Tests of the client commands: each runs Run with the arguments a person
// would type, against a real server started by setup, and checks what
// they would see (stdout, stderr, the exit code).

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// cliResult is how a command ended.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cliRunEnv runs the program with exactly env, as the binary does: main
// prints the error and exits with exitCode.
func cliRunEnv(t *testing.T, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(t.Context(), args, getenvFrom(env), &out, &errOut)
	r := cliResult{stdout: out.String()}
	if err != nil {
		r.code = exitCode(err)
		errOut.WriteString("tessera: " + err.Error() + "\n")
	}
	r.stderr = errOut.String()
	return r
}

// cliRun runs a client command against s with its administrator token.
func cliRun(t *testing.T, s *testServer, args ...string) cliResult {
	t.Helper()
	return cliRunEnv(t, map[string]string{"TESSERA_URL": s.URL, "TESSERA_API_KEY": s.token}, args...)
}

// ok fails the test unless the command succeeded.
func (r cliResult) ok(t *testing.T) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

// exits fails the test unless the command exited with code.
func (r cliResult) exits(t *testing.T, code int) cliResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// decode parses stdout as JSON into v.
func (r cliResult) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not JSON (%v):\n%s", err, r.stdout)
	}
}

// cliWriteFile writes a file in a temporary directory and returns its path.
func cliWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cliSetup starts a server for client tests. Their executions are not
// about crash recovery, so the lease is the default one: a run is not
// handed to a second attempt when a loaded test machine starves it.
func cliSetup(t *testing.T, o opts) *testServer {
	t.Helper()
	env := map[string]string{"TESSERA_LEASE": "30s"}
	for k, v := range o.Env {
		env[k] = v
	}
	o.Env = env
	return setup(t, o)
}

// cliCalcTask is a model that calls the calculator, then answers with its
// result. It answers from the request, so a retried run gets the same
// replies.
func cliCalcTask() llmtest.Handler {
	return func(req *llmtest.ChatRequest) llmtest.Reply {
		if res, ok := req.ToolResult("c1"); ok {
			return llmtest.Reply{Content: "The answer is " + res + ".", PromptTokens: 60, CompletionTokens: 5}
		}
		return llmtest.Reply{Content: "I should compute it.", ToolCalls: []llmtest.ToolCall{{ID: "c1", Name: "calculator", Arguments: `{"expression":"6*7"}`}},
			PromptTokens: 40, CompletionTokens: 10}
	}
}

// cliCalcAgent creates the agent "calc" with the calculator.
func cliCalcAgent(t *testing.T, s *testServer) int64 {
	t.Helper()
	return s.createAgent(t, map[string]any{"title": "Calc", "slug": "calc", "type": "chat",
		"instructions": "Use tools.", "tools": []string{"calculator"}}, nil)
}

// cliAwaitRequest waits for the provider to receive a request whose last
// user message contains marker.
func cliAwaitRequest(t *testing.T, fake *llmtest.Server, marker string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r := <-fake.Arrived():
			if strings.Contains(r.LastUserMessage(), marker) {
				return
			}
		case <-timeout:
			t.Fatalf("the provider received no request with %q", marker)
		}
	}
}

// cliProxy forwards TCP connections to a server and cuts them on demand,
// as a flaky network does.
type cliProxy struct {
	ln       net.Listener
	target   string
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	accepted int
}

func newCLIProxy(t *testing.T, target string) *cliProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cliProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.drop()
		p.wg.Wait()
	})
	return p
}

func (p *cliProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *cliProxy) serve() {
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.accepted++
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(up, down) })
		p.wg.Go(func() { pipe(down, up) })
	}
}

// drop closes every connection made so far.
func (p *cliProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cliProxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// unreachableURL is the URL of a port nothing listens on.
func unreachableURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
