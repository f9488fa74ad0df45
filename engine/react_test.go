package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// A model without tool calling runs the text protocol: actions parsed from
// its text, observations sent back as text, malformed replies answered with
// an observation saying what was wrong.
func TestTextReActLoop(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.reply = script(t,
		&llm.Response{Content: "Thought: I need to look it up\nAction: lookup\nAction Input: {\"q\": \"x\"}\nObservation: (made up)"},
		&llm.Response{Content: "I am not sure what to do."},
		&llm.Response{Content: "Thought: now I know\nFinal Answer: It is 42."},
	)
	e := loopEngine(t, b, resolver{"lookup": echoTool("lookup")}, func(c *engine.Config) {
		reg, err := llm.NewRegistry(llm.RegistryConfig{
			Providers: []llm.Provider{b.provider}, DefaultModel: "plain",
			Models: []llm.Model{{Name: "plain", Provider: "fake", ProviderModel: "m0", TextReAct: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Registry = reg
	})
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("question"), Tools: "lookup", Model: "plain"})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusCompleted || got.Output != "It is 42." {
		t.Fatalf("execution = %s %q %q", got.Status, got.Output, got.Error)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 3 || its[0].Action != "lookup" || its[0].Thought != "I need to look it up" ||
		its[0].Observation != `lookup saw {"q": "x"}` || its[1].Error == "" || its[2].Action != tessera.FinalAnswer {
		t.Fatalf("iterations = %+v %+v %+v", its[0], its[1], its[2])
	}
	reqs := b.provider.requests()
	if len(reqs[0].Tools) != 0 || !strings.Contains(reqs[0].Messages[0].Content, "Action Input:") {
		t.Errorf("first request: tools %v, system %q", reqs[0].Tools, reqs[0].Messages[0].Content)
	}
	second := reqs[1].Messages
	if last := second[len(second)-1]; last.Role != llm.RoleUser || last.Content != `Observation: lookup saw {"q": "x"}` {
		t.Errorf("the observation sent back = %+v", last)
	}
	third := reqs[2].Messages
	if last := third[len(third)-1]; !strings.HasPrefix(last.Content, "Observation: Error:") {
		t.Errorf("a malformed reply got %+v", last)
	}
}
