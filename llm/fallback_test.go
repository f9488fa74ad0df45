package llm_test

import (
	"context"
	"testing"

	"github.com/tessera-run/tessera/llm"
)

// fbProvider is a flaky provider under a name of its own, recording the models
// it was asked for.
type fbProvider struct {
	flaky
	name   string
	models []string
}

func (n *fbProvider) Name() string { return n.name }

func (n *fbProvider) Generate(ctx context.Context, req *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	n.models = append(n.models, req.Model)
	return n.flaky.Generate(ctx, req, stream)
}

func resolved(p llm.Provider, model string) *llm.Resolved {
	return &llm.Resolved{Provider: p, Model: model, Spec: p.Name() + "/" + model, Price: llm.Model{Name: model, InputPrice: 1}}
}

func TestFallbackTriesTheNextModel(t *testing.T) {
	t.Parallel()
	down := &fbProvider{name: "a", flaky: flaky{errs: []error{provErr(llm.ErrKindUnavailable, 503, 0)}}}
	up := &fbProvider{name: "b"}
	primary, second := resolved(down, "big"), resolved(up, "small")
	r := llm.WithFallbacks(primary, []*llm.Resolved{second})
	if r.Spec != "a/big" || r.Price.Name != "big" {
		t.Errorf("the chain resolves as %s %+v, want the primary", r.Spec, r.Price)
	}
	resp, err := r.Provider.Generate(context.Background(), &llm.Request{Model: "big"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Resolved != second || len(up.models) != 1 || up.models[0] != "small" {
		t.Errorf("answered by %+v, fallback asked for %v", resp.Resolved, up.models)
	}
	if len(resp.Attempts) != 1 || resp.Attempts[0].Model != "a/big" || resp.Attempts[0].StatusCode != 503 {
		t.Errorf("attempts = %+v", resp.Attempts)
	}
}

func TestFallbackStopsOnInvalidRequests(t *testing.T) {
	t.Parallel()
	bad := &fbProvider{name: "a", flaky: flaky{errs: []error{provErr(llm.ErrKindInvalid, 400, 0)}}}
	up := &fbProvider{name: "b"}
	r := llm.WithFallbacks(resolved(bad, "big"), []*llm.Resolved{resolved(up, "small")})
	_, err := r.Provider.Generate(context.Background(), &llm.Request{Model: "big"}, nil)
	if pe, ok := llm.AsError(err); !ok || pe.Kind != llm.ErrKindInvalid || len(up.models) != 0 {
		t.Errorf("err = %v, fallback called %v", err, up.models)
	}
}

func TestFallbackAllFailing(t *testing.T) {
	t.Parallel()
	a := &fbProvider{name: "a", flaky: flaky{errs: []error{provErr(llm.ErrKindRateLimited, 429, 0)}}}
	b := &fbProvider{name: "b", flaky: flaky{errs: []error{provErr(llm.ErrKindUnavailable, 500, 0)}}}
	r := llm.WithFallbacks(resolved(a, "x"), []*llm.Resolved{resolved(b, "y")})
	_, err := r.Provider.Generate(context.Background(), &llm.Request{Model: "x"}, nil)
	attempts := llm.AttemptsOf(err)
	if len(attempts) != 2 || attempts[0].Model != "a/x" || attempts[1].Model != "b/y" || attempts[1].Number != 2 {
		t.Errorf("attempts = %+v", attempts)
	}
	if pe, ok := llm.AsError(err); !ok || pe.StatusCode != 500 {
		t.Errorf("err = %v, want the last model's", err)
	}
}

func TestFallbackDoesNotRepeatStreamedText(t *testing.T) {
	t.Parallel()
	a := &fbProvider{name: "a", flaky: flaky{errs: []error{provErr(llm.ErrKindUnavailable, 0, 0)}, deltas: []string{"half"}}}
	b := &fbProvider{name: "b"}
	r := llm.WithFallbacks(resolved(a, "x"), []*llm.Resolved{resolved(b, "y")})
	_, err := r.Provider.Generate(context.Background(), &llm.Request{Model: "x"}, func(string) error { return nil })
	if err == nil || len(b.models) != 0 {
		t.Errorf("err = %v, fallback called %v after text was streamed", err, b.models)
	}
}
