package openaicompat_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
)

func TestModels(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	for _, client := range []struct {
		name string
		base string
	}{{"v1", "/v1"}, {"per agent", "/agents/helper/openai"}} {
		page, err := e.client(client.base).Models.List(ctx)
		must(t, err)
		var ids []string
		for _, m := range page.Data {
			ids = append(ids, m.ID)
			if m.Object != "model" || m.OwnedBy != "tessera" || m.Created == 0 {
				t.Errorf("%s: model %+v", client.name, m)
			}
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"helper", "topical"}) {
			t.Errorf("%s: models = %q, want the chat agents", client.name, ids)
		}
	}
	m, err := e.client("/v1").Models.Get(ctx, "helper")
	must(t, err)
	if m.ID != "helper" {
		t.Errorf("model = %+v", m)
	}
	_, err = e.client("/v1").Models.Get(ctx, "writer")
	wantAPIError(t, err, http.StatusNotFound, "model", "does not exist")
}
