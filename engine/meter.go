package engine

import (
	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
)

// meter sums what the model calls of a run used and cost, each call at the
// price of the model that answered it: with fallbacks, one run may use
// several.
type meter struct {
	usage         llm.Usage
	cost, credits float64
	// spec is the model that answered last, recorded as the model used.
	spec string
}

func newMeter(res *llm.Resolved) *meter { return &meter{spec: res.Spec} }

// add counts one answered call.
func (m *meter) add(res *llm.Resolved, resp *llm.Response) {
	if resp.Resolved != nil {
		res = resp.Resolved
	}
	m.usage = addUsage(m.usage, resp.Usage)
	cost, credits := res.Price.Cost(resp.Usage)
	m.cost += cost
	m.credits += credits
	m.spec = res.Spec
}

// fill writes the totals into an outcome.
func (m *meter) fill(o *outcome) {
	o.modelUsed, o.usage, o.cost, o.credits = m.spec, toUsage(m.usage), m.cost, m.credits
}

// attempts converts a call's failed attempts for its iteration.
func attempts(as []llm.Attempt) []tessera.ProviderAttempt {
	if len(as) == 0 {
		return nil
	}
	out := make([]tessera.ProviderAttempt, len(as))
	for i, a := range as {
		out[i] = tessera.ProviderAttempt{Attempt: a.Number, Model: a.Model, Kind: a.Kind, StatusCode: a.StatusCode,
			Message: a.Message, WaitMS: a.WaitMS}
	}
	return out
}

// streamFor is where a run's text deltas go: nowhere for a model whose
// table entry turns streaming off.
func streamFor(res *llm.Resolved, out *output) llm.StreamFunc {
	if res.Price.NoStreaming {
		return nil
	}
	return out.write
}
