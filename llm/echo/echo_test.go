package echo_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/echo"
)

func request(msgs ...llm.Message) *llm.Request {
	return &llm.Request{Model: echo.Model, Messages: msgs}
}

var conversation = request(
	llm.Message{Role: llm.RoleSystem, Content: "you echo"},
	llm.Message{Role: llm.RoleUser, Content: "first"},
	llm.Message{Role: llm.RoleAssistant, Content: "Echo: first"},
	llm.Message{Role: llm.RoleUser, Content: "hello  big\nworld"},
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	p := echo.New(echo.Config{})
	if p.Name() != "echo" {
		t.Errorf("Name = %q", p.Name())
	}
	resp, err := p.Generate(context.Background(), conversation, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{
		Content: "Echo: hello  big\nworld", FinishReason: "stop", Model: "echo",
		// 2 + 1 + 2 + 3 input words; "Echo:", "hello", "big", "world".
		Usage: llm.Usage{InputTokens: 8, OutputTokens: 4},
	}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

func TestStreamWordByWord(t *testing.T) {
	t.Parallel()
	var deltas []string
	resp, err := echo.New(echo.Config{}).Generate(context.Background(), conversation, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Echo:", " hello", "  big", "\nworld"}
	if strings.Join(deltas, "|") != strings.Join(want, "|") {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
	if strings.Join(deltas, "") != resp.Content {
		t.Errorf("deltas do not add up to %q", resp.Content)
	}
}

func TestNoUserMessage(t *testing.T) {
	t.Parallel()
	resp, err := echo.New(echo.Config{}).Generate(context.Background(), request(), nil)
	if err != nil || resp.Content != "Echo: " {
		t.Errorf("Generate = %+v, %v", resp, err)
	}
}

func TestMaxTokensCuts(t *testing.T) {
	t.Parallel()
	req := request(llm.Message{Role: llm.RoleUser, Content: "one two three"})
	req.MaxTokens = 2
	resp, err := echo.New(echo.Config{}).Generate(context.Background(), req, nil)
	if err != nil || resp.Content != "Echo: one" || resp.FinishReason != "length" || resp.Usage.OutputTokens != 2 {
		t.Errorf("Generate = %+v, %v", resp, err)
	}
}

func TestStreamErrorAborts(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	_, err := echo.New(echo.Config{}).Generate(context.Background(), conversation, func(string) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := echo.New(echo.Config{}).Generate(ctx, conversation, nil)
	wantCancelled(t, err)
}

func TestDelayHonoursCancel(t *testing.T) {
	t.Parallel()
	p := echo.New(echo.Config{Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	_, err := p.Generate(ctx, conversation, func(string) error { return nil })
	wantCancelled(t, err)
}

func TestDelayPerWord(t *testing.T) {
	t.Parallel()
	var at []time.Time
	_, err := echo.New(echo.Config{Delay: 5 * time.Millisecond}).Generate(context.Background(), conversation, func(string) error {
		at = append(at, time.Now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := at[len(at)-1].Sub(at[0]); d < 15*time.Millisecond {
		t.Errorf("4 words came in %v, want at least 3 delays", d)
	}
}

func wantCancelled(t *testing.T, err error) {
	t.Helper()
	e, ok := llm.AsError(err)
	if !ok || e.Kind != llm.ErrKindCancelled || e.Provider != "echo" || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want an echo cancelled *llm.Error", err)
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "a b", " a", "a ", "  a  b  ", "\t", "é ü"} {
		if got := strings.Join(echo.Words(s), ""); got != s {
			t.Errorf("Words(%q) joins to %q", s, got)
		}
	}
}

// TestIgnoresTools checks that tools, tool calls and tool results change
// nothing but the usage their content adds.
func TestIgnoresTools(t *testing.T) {
	t.Parallel()
	req := request(
		llm.Message{Role: llm.RoleUser, Content: "weather?"},
		llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "weather", Arguments: `{"city":"Paris"}`}}},
		llm.Message{Role: llm.RoleTool, ToolCallID: "c1", Content: "sunny"},
	)
	req.Tools = []llm.ToolDef{{Name: "weather", Description: "the weather", Parameters: []byte(`{"type":"object"}`)}}
	for _, stream := range []llm.StreamFunc{nil, func(string) error { return nil }} {
		resp, err := echo.New(echo.Config{}).Generate(context.Background(), req, stream)
		if err != nil {
			t.Fatal(err)
		}
		want := llm.Response{Content: "Echo: weather?", FinishReason: "stop", Model: "echo",
			Usage: llm.Usage{InputTokens: 2, OutputTokens: 2}}
		if !reflect.DeepEqual(*resp, want) {
			t.Errorf("response = %+v, want %+v", *resp, want)
		}
	}
}
