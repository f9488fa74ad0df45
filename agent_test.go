package tessera_test

import (
	"slices"
	"testing"

	"github.com/tessera-run/tessera"
)

func TestQuestionsMayNotUseExecuteFields(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"timeout", "multitask_strategy", "messages", "waitExecution"} {
		a := tessera.Agent{Title: "x", Questions: []tessera.Question{{Name: name}}}
		if fields := fieldsOf(t, a.Validate()); !slices.Contains(fields, "questions.0.name") {
			t.Errorf("a question named %q: fields %v", name, fields)
		}
	}
}

func TestChangedFields(t *testing.T) {
	t.Parallel()
	a := tessera.Agent{ID: 1, Title: "A", Version: 1, Tools: nil}
	b := a
	b.ID, b.Version, b.Tools = 2, 7, []string{} // identity, bookkeeping, and nil vs empty: no change
	if got := tessera.ChangedFields(&a, &b); len(got) != 0 {
		t.Errorf("ChangedFields = %v, want none", got)
	}
	b.Title, b.Instructions = "B", "be brief"
	if got := tessera.ChangedFields(&a, &b); !slices.Equal(got, []string{"instructions", "title"}) {
		t.Errorf("ChangedFields = %v", got)
	}
}
