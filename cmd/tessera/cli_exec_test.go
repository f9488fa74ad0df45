package main

import (
	"bufio"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/client"
	"github.com/tessera-run/tessera/llm/llmtest"
)

// exec --stream prints the text as it streams and each step of the tool
// loop as it happens.
func TestCLIExecStreamShowsTextAndIterations(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{Handler: cliCalcTask()})
	cliCalcAgent(t, s)

	r := cliRun(t, s, "exec", "calc", "--message", "six times seven?", "--stream").ok(t)
	// The text of every step, as streamed (the thought, then the answer).
	if r.stdout != "I should compute it.The answer is 42.\n" {
		t.Errorf("streamed text = %q", r.stdout)
	}
	for _, want := range []string{
		`[1] calculator {"expression":"6*7"} → 42 · 40 in / 10 out tokens · `,
		`[2] final answer · 60 in / 5 out tokens · `,
		"completed · 115 tokens (100 in / 15 out)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Index(r.stderr, "[1] calculator") > strings.Index(r.stderr, "[2] final answer") {
		t.Errorf("steps out of order:\n%s", r.stderr)
	}

	// -o json: every event as one JSON line, the done event last.
	s.Fake.SetHandler(cliCalcTask())
	r = cliRun(t, s, "exec", "calc", "-m", "again?", "--stream", "-o", "json").ok(t)
	var types []string
	var text strings.Builder
	var step *client.Iteration
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var ev client.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q is not an event: %v", sc.Text(), err)
		}
		types = append(types, ev.Type)
		text.WriteString(ev.Text())
		if ev.Type == client.EventIterationFinished && step == nil {
			step, _ = ev.Iteration()
		}
	}
	if len(types) == 0 || types[len(types)-1] != client.EventDone {
		t.Fatalf("event types %v, want done last", types)
	}
	if text.String() != "I should compute it.The answer is 42." || step == nil || step.Action != "calculator" || step.Observation != "42" {
		t.Errorf("events: text %q, first step %+v", text.String(), step)
	}
}

// Without --stream exec waits and prints the answer alone; stderr is not a
// terminal here, so no progress display is drawn.
func TestCLIExecWaitsAndPrintsTheAnswer(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	id := s.createAgent(t, map[string]any{"title": "Echo", "slug": "echo", "type": "chat"}, nil)

	r := cliRun(t, s, "exec", "echo", "-m", "hello").ok(t)
	if r.stdout != "fake: hello\n" || r.stderr != "" {
		t.Errorf("exec printed %q, stderr %q", r.stdout, r.stderr)
	}
	var ex client.Execution
	cliRun(t, s, "exec", itoa(id), "-m", "as json", "-o", "json").ok(t).decode(t, &ex)
	if ex.Status != client.StatusCompleted || ex.Output() != "fake: as json" || ex.AgentID != id {
		t.Errorf("exec -o json = %+v", ex)
	}

	// --async prints the id at once; tail follows it to its end.
	r = cliRun(t, s, "exec", "echo", "-m", "later", "--async").ok(t)
	exID := strings.TrimSpace(r.stdout)
	if _, err := cliArgID("id", exID); err != nil || !strings.Contains(r.stderr, "tessera executions tail "+exID) {
		t.Fatalf("--async printed %q, stderr %q", r.stdout, r.stderr)
	}
	r = cliRun(t, s, "executions", "tail", exID).ok(t)
	if r.stdout != "fake: later\n" {
		t.Errorf("tail printed %q", r.stdout)
	}
	// A person ran these: they record trigger_type manual.
	if got := s.must(t, 200, "GET", "/api/v1/ai/agents/executions/"+exID, nil, nil); got["trigger_type"] != "manual" {
		t.Errorf("trigger_type of a CLI run = %v, want manual", got["trigger_type"])
	}
}

// --input values are JSON when they parse as JSON, else strings; the
// server receives them typed.
func TestCLIExecInputs(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	s.createAgent(t, map[string]any{"title": "Form", "slug": "form", "type": "text", "prompt": "Tell {{name}} about {{topic}}.",
		"questions": []map[string]any{{"name": "name", "type": "text"}, {"name": "topic", "type": "text"},
			{"name": "meta", "type": "object"}, {"name": "tags", "type": "array"}, {"name": "n", "type": "number"}}}, nil)

	var ex client.Execution
	cliRun(t, s, "exec", "form", "-i", "name=Ana", "--input", "topic=a=b", "-i", `meta={"k": 1}`, "-i", `tags=["x","y"]`,
		"-i", "n=42", "-o", "json").ok(t).decode(t, &ex)
	want := map[string]any{"name": "Ana", "topic": "a=b", "meta": map[string]any{"k": 1.0}, "tags": []any{"x", "y"}, "n": 42.0}
	if !reflect.DeepEqual(ex.InputData, want) {
		t.Errorf("input_data = %v, want %v", ex.InputData, want)
	}
	if ex.Output() != "fake: Tell Ana about a=b." {
		t.Errorf("output = %q", ex.Output())
	}
}

func TestCLIParseInputs(t *testing.T) {
	t.Parallel()
	got, err := cliParseInputs([]string{"s=Ana", "n=42", `q="42"`, "b=true", "e=", "eq=x=y", "  k =v", `o={"a":[1]}`, "bad={"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"s": "Ana", "n": json.RawMessage("42"), "q": json.RawMessage(`"42"`), "b": json.RawMessage("true"),
		"e": "", "eq": "x=y", "k": "v", "o": json.RawMessage(`{"a":[1]}`), "bad": "{"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs = %v, want %v", got, want)
	}
	for _, bad := range []string{"novalue", "=v", " =v"} {
		if _, err := cliParseInputs([]string{bad}); exitCode(err) != 2 {
			t.Errorf("%q: err %v, want a usage error", bad, err)
		}
	}
}

// A failed execution exits with 1 and says why, streamed or not.
func TestCLIExecFailureExitsOne(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{Handler: func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Status: 400, ErrorMessage: "model not supported"}
	}})
	id := s.chatAgent(t, "Doomed")
	for _, args := range [][]string{{}, {"--stream"}, {"-o", "json"}} {
		r := cliRun(t, s, append([]string{"exec", itoa(id), "-m", "try"}, args...)...).exits(t, 1)
		if !strings.Contains(r.stderr, "failed") {
			t.Errorf("exec %v: stderr %q", args, r.stderr)
		}
	}
}
