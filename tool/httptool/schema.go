package httptool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// bindSecrets keeps the secrets the templates use and prepares their
// scrubbing; it names the missing ones, never a value.
func (t *httpTool) bindSecrets(secrets map[string]string) error {
	t.secrets = map[string]string{}
	var missing []string
	for _, tmpl := range t.templates() {
		for _, p := range tmpl {
			if p.secret == "" {
				continue
			}
			v, ok := secrets[p.secret]
			if !ok {
				if !slices.Contains(missing, p.secret) {
					missing = append(missing, p.secret)
				}
				continue
			}
			t.secrets[p.secret] = v
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if len(missing) == 1 {
			return fmt.Errorf("the secret %s is not set on this instance", missing[0])
		}
		return fmt.Errorf("the secrets %s are not set on this instance", strings.Join(missing, ", "))
	}
	if err := t.checkHeaderSecrets(); err != nil {
		return err
	}
	values := make([]string, 0, len(t.secrets))
	for _, v := range t.secrets {
		values = append(values, v)
	}
	t.scrub = newScrubber(values)
	return nil
}

func (t *httpTool) checkHeaderSecrets() error {
	for _, h := range t.headers {
		for _, p := range h.value {
			if p.secret != "" && strings.ContainsAny(t.secrets[p.secret], "\r\n\x00") {
				return fmt.Errorf("the secret %s holds a line break and cannot be sent in header %s", p.secret, h.name)
			}
		}
	}
	return nil
}

// schema holds the facts of a JSON Schema that Call uses.
type schema struct {
	// Properties is nil when the schema declares none.
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

// bindSchema checks the placeholders against the parameters; with none
// declared, each placeholder becomes a required string parameter.
func (t *httpTool) bindSchema(raw json.RawMessage) error {
	var names []string
	for _, tmpl := range t.templates() {
		for _, n := range tmpl.args() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		t.params, t.required = synthesizeSchema(names), names
		return nil
	}
	var s schema
	if trimmed := bytes.TrimSpace(raw); trimmed[0] != '{' || json.Unmarshal(trimmed, &s) != nil {
		return errors.New("the parameters must be a JSON Schema object")
	}
	if s.Properties != nil {
		for _, n := range names {
			if _, ok := s.Properties[n]; !ok {
				return fmt.Errorf("the placeholder {{%s}} names no property of the parameters", n)
			}
		}
	}
	t.params, t.required = raw, s.Required
	return nil
}

func synthesizeSchema(names []string) json.RawMessage {
	props := make(map[string]any, len(names))
	for _, n := range names {
		props[n] = map[string]string{"type": "string"}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(names) > 0 {
		s["required"] = names
	}
	b, _ := json.Marshal(s) // cannot fail: strings and maps only
	return b
}
