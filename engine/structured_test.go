package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

const personSchema = `{"type":"object","required":["name","age"],"properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"additionalProperties":false}`

// withSchema gives the bundle's agent an output_schema.
func withSchema(t *testing.T, b *bundle, schema string) {
	t.Helper()
	a := *b.agent
	a.OutputSchema = json.RawMessage(schema)
	updated, err := b.store.AgentUpdate(context.Background(), &tessera.AgentUpdateParams{Agent: &a, Now: b.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	b.agent = updated
}

func answer(s string) *llm.Response {
	return &llm.Response{Content: s, Usage: llm.Usage{InputTokens: 100, OutputTokens: 10}}
}

func run(t *testing.T, b *bundle, e *engine.Engine, req *engine.ExecuteRequest) *tessera.Execution {
	t.Helper()
	ex := b.submit(t, e, req)
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	return b.get(t, ex.ID)
}

func TestOutputSchemaValidAnswerIsParsed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withSchema(t, b, personSchema)
	b.provider.reply = script(t, answer("```json\n{\"name\": \"Ada\", \"age\": 36}\n```"))
	e := b.engine(t, nil)
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("who?")})
	if got.Status != tessera.StatusCompleted {
		t.Fatalf("status = %s (%s)", got.Status, got.Error)
	}
	// The fence is gone; the object is kept as the model wrote it.
	if got.Output != `{"name": "Ada", "age": 36}` || string(got.StructuredOutput) != got.Output {
		t.Errorf("output = %q, structured = %s", got.Output, got.StructuredOutput)
	}
	req := b.provider.requests()[0]
	if !strings.Contains(req.Messages[0].Content, personSchema) || req.Messages[0].Role != llm.RoleSystem {
		t.Errorf("the system message does not carry the schema: %+v", req.Messages[0])
	}
	if req.OutputSchema != nil {
		t.Errorf("OutputSchema sent to a model without structured output: %s", req.OutputSchema)
	}
}

func TestOutputSchemaGoesToProvidersThatSupportIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withSchema(t, b, personSchema)
	b.provider.reply = script(t, answer(`{"name":"Ada","age":36}`))
	e := b.engine(t, func(c *engine.Config) {
		reg, err := llm.NewRegistry(llm.RegistryConfig{
			Providers:    []llm.Provider{b.provider},
			Models:       []llm.Model{{Name: "priced", Provider: "fake", ProviderModel: "m1", StructuredOutput: true}},
			DefaultModel: "priced",
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Registry = reg
	})
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("who?")})
	if got.Status != tessera.StatusCompleted || string(got.StructuredOutput) != `{"name":"Ada","age":36}` {
		t.Fatalf("execution = %s %q %s", got.Status, got.Error, got.StructuredOutput)
	}
	if req := b.provider.requests()[0]; string(req.OutputSchema) != personSchema {
		t.Errorf("OutputSchema = %s, want the agent's schema", req.OutputSchema)
	}
}

func TestOutputSchemaRepairsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withSchema(t, b, personSchema)
	b.provider.reply = script(t, answer(`{"name":"Ada","age":"thirty-six"}`), answer(`{"name":"Ada","age":36}`))
	e := b.engine(t, nil)
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("who?")})
	if got.Status != tessera.StatusCompleted || string(got.StructuredOutput) != `{"name":"Ada","age":36}` {
		t.Fatalf("execution = %s %q %s", got.Status, got.Error, got.StructuredOutput)
	}
	reqs := b.provider.requests()
	if len(reqs) != 2 {
		t.Fatalf("model calls = %d, want 2", len(reqs))
	}
	msgs := reqs[1].Messages
	last, prev := msgs[len(msgs)-1], msgs[len(msgs)-2]
	if prev.Role != llm.RoleAssistant || prev.Content != `{"name":"Ada","age":"thirty-six"}` {
		t.Errorf("the repair call does not show the first answer: %+v", prev)
	}
	if last.Role != llm.RoleUser || !strings.Contains(last.Content, "/age") {
		t.Errorf("the repair call does not say what is wrong: %q", last.Content)
	}
	// Both calls are billed.
	if got.Usage.InputTokens != 200 || got.Usage.OutputTokens != 20 {
		t.Errorf("usage = %+v, want both calls", got.Usage)
	}
}

func TestOutputSchemaFailsAfterOneRepair(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withSchema(t, b, personSchema)
	b.provider.reply = script(t, answer(`not json at all`), answer(`{"name":"Ada"}`))
	e := b.engine(t, nil)
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("who?")})
	if got.Status != tessera.StatusFailed || got.StopReason != tessera.StopInvalidOutput {
		t.Fatalf("status = %s stop = %q, want failed / invalid_output", got.Status, got.StopReason)
	}
	if !strings.Contains(got.Error, "output_schema") || !strings.Contains(got.Error, "age") {
		t.Errorf("error = %q, want the schema problem named", got.Error)
	}
	if got.Output != `{"name":"Ada"}` || got.StructuredOutput != nil {
		t.Errorf("output = %q structured = %s; want the last answer kept and nothing parsed", got.Output, got.StructuredOutput)
	}
	if n := len(b.provider.requests()); n != 2 {
		t.Errorf("model calls = %d, want 2 (one repair only)", n)
	}
}

func TestOutputSchemaRepairIsAnIterationOfTheLoop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withSchema(t, b, personSchema)
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "c1", Name: "lookup", Arguments: `{}`}),
		answer(`Ada, 36`),
		answer(`{"name":"Ada","age":36}`))
	e := loopEngine(t, b, resolver{"lookup": echoTool("lookup")}, nil)
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("who?"), Tools: "lookup"})
	if got.Status != tessera.StatusCompleted || string(got.StructuredOutput) != `{"name":"Ada","age":36}` {
		t.Fatalf("execution = %s %q %s", got.Status, got.Error, got.StructuredOutput)
	}
	its := iterations(t, b, got.ID)
	if len(its) != 3 || its[0].Action != "lookup" || its[1].Action != tessera.FinalAnswer || its[2].Action != tessera.FinalAnswer {
		t.Fatalf("iterations = %+v", its)
	}
	if !strings.Contains(its[2].Thought, "output_schema") || its[2].Observation != `{"name":"Ada","age":36}` || its[2].Iteration != 3 {
		t.Errorf("repair iteration = %+v", its[2])
	}
}

func TestCheckAgentRefusesBadSchemas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	// A valid schema in a file the server could read: the compiler's
	// default loader would follow the $ref.
	local := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(local, []byte(`{"type":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, schema := range map[string]string{
		"bad keyword type": `{"type": 12}`,
		"a file":           `{"$ref": "file://` + filepath.ToSlash(local) + `"}`,
		"the network":      `{"$ref": "https://example.com/schema.json"}`,
	} {
		err := e.CheckAgent(&tessera.Agent{OutputSchema: json.RawMessage(schema)})
		if tessera.ErrorCode(err) != tessera.EINVALID || !strings.Contains(tessera.ErrorMessage(err), "output_schema") {
			t.Errorf("%s: CheckAgent = %v, want EINVALID on output_schema", name, err)
		}
	}
	if err := e.CheckAgent(&tessera.Agent{OutputSchema: json.RawMessage(`{"$defs":{"n":{"type":"integer"}},"type":"object","properties":{"a":{"$ref":"#/$defs/n"}}}`)}); err != nil {
		t.Errorf("a schema with an internal $ref: %v", err)
	}
}
