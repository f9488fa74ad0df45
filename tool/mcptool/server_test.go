package mcptool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The test binary doubles as a stdio MCP server and as a process that
// server starts, chosen by these variables.
const (
	serverEnv  = "TESSERA_MCPTOOL_TEST_SERVER"
	sleeperEnv = "TESSERA_MCPTOOL_TEST_SLEEPER"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv(serverEnv) == "1":
		if err := newTestServer(nil).Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case os.Getenv(sleeperEnv) == "1":
		time.Sleep(time.Minute) // until killed; bounded should the test fail to
		os.Exit(0)
	}
	// A variable of ours that a stdio server must not see (TestStdio).
	os.Setenv("MCPTOOL_PARENT_ONLY", "leaked")
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines outlive every test:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to d for the goroutines of this package and of
// the SDK (sessions, readers, process waits) to end, and describes those
// that remain. The SDK's best-effort cancellation notice may take 5s.
func leakedGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "leakedGoroutines") {
				continue
			}
			if strings.Contains(g, "tool/mcptool") || strings.Contains(g, "modelcontextprotocol/go-sdk") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hooks let a test watch and steer the in-process server; nil fields do
// nothing.
type hooks struct {
	// parties is how many calls of "rendezvous" must arrive before any
	// returns.
	parties int
	// hanging is closed when "hang" starts; release ends it.
	hanging chan struct{}
	release chan struct{}
}

// newTestServer returns an MCP server with the tools the tests call.
func newTestServer(h *hooks) *mcp.Server {
	if h == nil {
		h = &hooks{}
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "mcptool-test", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Adds two integers."}, add)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Title: "Echo"}, echo)
	mcp.AddTool(s, &mcp.Tool{Name: "fail", Description: "Always fails."}, fail)
	mcp.AddTool(s, &mcp.Tool{Name: "big", Description: "Returns 100 KB of text."}, big)
	s.AddTool(&mcp.Tool{Name: "picture", Description: "Returns an image.", InputSchema: emptyObject}, picture)
	s.AddTool(&mcp.Tool{Name: "args", Description: "Returns its arguments as sent.", InputSchema: emptyObject}, args)
	s.AddTool(&mcp.Tool{Name: "stats", Description: "Returns structured content only.", InputSchema: emptyObject}, stats)
	mcp.AddTool(s, &mcp.Tool{Name: "getenv", Description: "Returns an environment variable."}, getenv)
	mcp.AddTool(s, &mcp.Tool{Name: "pid", Description: "Returns the server's process id."}, pid)
	mcp.AddTool(s, &mcp.Tool{Name: "spawn", Description: "Starts a child process and returns its id."}, spawn)
	mcp.AddTool(s, &mcp.Tool{Name: "rendezvous", Description: "Returns once enough calls have arrived."}, rendezvous(h.parties))
	mcp.AddTool(s, &mcp.Tool{Name: "hang", Description: "Returns when cancelled."}, hang(h))
	return s
}

var emptyObject = map[string]any{"type": "object"}

type none struct{}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

type addArgs struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
}

func add(_ context.Context, _ *mcp.CallToolRequest, in addArgs) (*mcp.CallToolResult, any, error) {
	return text(strconv.FormatInt(in.A+in.B, 10)), nil, nil
}

func echo(_ context.Context, _ *mcp.CallToolRequest, in struct {
	Text string `json:"text"`
}) (*mcp.CallToolResult, any, error) {
	return text(in.Text), nil, nil
}

func fail(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
	return nil, nil, errors.New("the disk is full")
}

func big(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
	return text(strings.Repeat("0123456789", 10_000)), nil, nil
}

func picture(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{
		&mcp.ImageContent{MIMEType: "image/png", Data: []byte("\x89PNG")},
	}}, nil
}

func args(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return text(string(req.Params.Arguments)), nil
}

func stats(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{}, StructuredContent: map[string]any{"count": 3}}, nil
}

func getenv(_ context.Context, _ *mcp.CallToolRequest, in struct {
	Name string `json:"name"`
}) (*mcp.CallToolResult, any, error) {
	return text(os.Getenv(in.Name)), nil, nil
}

func pid(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
	return text(strconv.Itoa(os.Getpid())), nil, nil
}

// spawn starts the test binary as a sleeper, which the server then never
// ends: only the Toolbox's sweep of the process group can.
func spawn(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverEnv+"=", sleeperEnv+"=1")
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return text(strconv.Itoa(cmd.Process.Pid)), nil, nil
}

// rendezvous returns a handler that answers no call before parties calls
// are running at once, which only a client that does not serialize its
// calls achieves.
func rendezvous(parties int) mcp.ToolHandlerFor[none, any] {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, any, error) {
		mu.Lock()
		arrived++
		if arrived == parties {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return text("all arrived"), nil, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func hang(h *hooks) mcp.ToolHandlerFor[none, any] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, any, error) {
		if h.hanging == nil {
			return nil, nil, errors.New("this server cannot hang")
		}
		close(h.hanging)
		select {
		case <-ctx.Done():
		case <-h.release:
		}
		return text("released"), nil, nil
	}
}
