package native

import (
	"net/http"
	"slices"

	"github.com/tessera-run/tessera/http/httpx"
	"github.com/tessera-run/tessera/llm"
)

// modelView is one usable model: a model-table entry, or the default
// model when the table does not list it.
type modelView struct {
	Name          string           `json:"name"`
	Provider      string           `json:"provider"`
	Model         string           `json:"model"`
	Spec          string           `json:"spec"`
	ContextWindow int              `json:"context_window,omitempty"`
	Capabilities  llm.Capabilities `json:"capabilities"`
	// Prices are US dollars per million tokens.
	Pricing           pricing `json:"pricing"`
	CreditsMultiplier float64 `json:"credits_multiplier"`
	Default           bool    `json:"default"`
}

type pricing struct {
	Input       float64 `json:"input"`
	Output      float64 `json:"output"`
	CachedInput float64 `json:"cached_input"`
}

// listModels answers what agents and requests may name: the model table
// with capabilities and prices, the default model, the Tess aliases and
// what they run on, and the providers for provider/name specs. Every
// workspace may use every configured model.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	reg := h.cfg.Registry
	def := reg.DefaultModel()
	var models []modelView
	for _, m := range reg.Models() {
		models = append(models, h.modelView(m.Name, def))
	}
	if def != "" && !slices.ContainsFunc(models, func(m modelView) bool { return m.Name == def }) {
		if res, err := reg.Resolve(def); err == nil {
			models = append(models, viewOf(def, res, true))
		}
	}
	aliases := map[string]string{}
	for _, a := range llm.TessAliases {
		if res, err := reg.Resolve(a); err == nil {
			aliases[a] = res.Spec
		}
	}
	if models == nil {
		models = []modelView{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": models, "default_model": def, "aliases": aliases,
		"providers": reg.Providers()})
}

func (h *Handler) modelView(name, def string) modelView {
	res, err := h.cfg.Registry.Resolve(name)
	if err != nil {
		return modelView{Name: name}
	}
	return viewOf(name, res, name == def)
}

func viewOf(name string, res *llm.Resolved, isDefault bool) modelView {
	m := res.Price
	mult := m.CreditsMultiplier
	if mult == 0 {
		mult = 1
	}
	cached := m.CachedInputPrice
	if cached == 0 {
		cached = m.InputPrice
	}
	return modelView{
		Name: name, Provider: res.Provider.Name(), Model: res.Model, Spec: res.Spec, ContextWindow: m.ContextWindow,
		Capabilities: m.Capabilities(), Pricing: pricing{Input: m.InputPrice, Output: m.OutputPrice, CachedInput: cached},
		CreditsMultiplier: mult, Default: isDefault,
	}
}
