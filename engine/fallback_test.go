package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// down is a provider whose every call fails as unavailable.
type down struct{ calls int }

func (d *down) Name() string { return "down" }

func (d *down) Generate(context.Context, *llm.Request, llm.StreamFunc) (*llm.Response, error) {
	d.calls++
	return nil, &llm.Error{Provider: "down", Kind: llm.ErrKindUnavailable, StatusCode: 503, Message: "overloaded"}
}

func TestFallbackModelAnswersAndIsBilledAtItsPrice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := *b.agent
	a.FallbackModels = []string{"backup"}
	updated, err := b.store.AgentUpdate(context.Background(), &tessera.AgentUpdateParams{Agent: &a, Now: b.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	b.agent = updated
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "c1", Name: "lookup", Arguments: `{}`}),
		&llm.Response{Content: "done", Usage: llm.Usage{InputTokens: 1000, OutputTokens: 100}})
	dead := &down{}
	noWait := llm.RetryPolicy{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
	e := loopEngine(t, b, resolver{"lookup": echoTool("lookup")}, func(c *engine.Config) {
		reg, err := llm.NewRegistry(llm.RegistryConfig{
			Providers: []llm.Provider{llm.WithRetry(dead, noWait), b.provider},
			Models: []llm.Model{
				{Name: "priced", Provider: "down", ProviderModel: "big", InputPrice: 100, OutputPrice: 100},
				{Name: "backup", Provider: "fake", ProviderModel: "small", InputPrice: 1, OutputPrice: 2},
			},
			DefaultModel: "priced",
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Registry = reg
	})
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("go"), Tools: "lookup"})
	if got.Status != tessera.StatusCompleted || got.ModelUsed != "fake/small" {
		t.Fatalf("execution = %s %q model %s", got.Status, got.Error, got.ModelUsed)
	}
	// Two calls answered by the backup: 10+1000 input, 5+100 output tokens.
	wantCost := (1010*1.0 + 105*2.0) / 1e6
	if d := got.Cost - wantCost; d > 1e-12 || d < -1e-12 {
		t.Errorf("cost = %v, want %v (the backup's price)", got.Cost, wantCost)
	}
	// Each step's failed calls are on its iteration: two attempts at the
	// primary (one retry), then the backup answered.
	its := iterations(t, b, got.ID)
	if len(its) != 2 {
		t.Fatalf("iterations = %+v", its)
	}
	for _, it := range its {
		pa := it.ProviderAttempts
		if len(pa) != 2 || pa[0].Model != "down/big" || pa[0].StatusCode != 503 || pa[1].Attempt != 2 || pa[0].Kind != llm.ErrKindUnavailable {
			t.Errorf("iteration %d attempts = %+v", it.Iteration, pa)
		}
	}
	if dead.calls != 4 {
		t.Errorf("primary calls = %d, want 2 per step", dead.calls)
	}
}

func TestNoStreamingModelsGetWholeCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var streamed bool
	b.provider.stream = func(_ context.Context, _ *llm.Request, fn llm.StreamFunc) (*llm.Response, error) {
		streamed = fn != nil
		return &llm.Response{Content: "whole"}, nil
	}
	e := b.engine(t, func(c *engine.Config) {
		reg, err := llm.NewRegistry(llm.RegistryConfig{Providers: []llm.Provider{b.provider},
			Models: []llm.Model{{Name: "priced", Provider: "fake", ProviderModel: "m1", NoStreaming: true}}, DefaultModel: "priced"})
		if err != nil {
			t.Fatal(err)
		}
		c.Registry = reg
	})
	got := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	if got.Status != tessera.StatusCompleted || got.Output != "whole" || streamed {
		t.Errorf("execution = %s %q, streamed = %v", got.Status, got.Output, streamed)
	}
}
