package engine

import "testing"

func TestRender(t *testing.T) {
	t.Parallel()
	known := func(n string) bool { return n == "name" || n == "count" || n == "tags" || n == "missing" || n == "obj" }
	inputs := map[string]any{"name": "Ada", "count": 3.0, "tags": []string{"a", "b"}, "obj": map[string]any{"k": true}}
	tests := []struct{ tmpl, want string }{
		{"Hello {{name}}", "Hello Ada"},
		{"{{ name }} has {{count}}", "Ada has 3"},
		{"tags: {{tags}}", "tags: a, b"},
		{"obj: {{obj}}", `obj: {"k":true}`},
		{"[{{missing}}]", "[]"},
		{"{{unknown}} stays", "{{unknown}} stays"},
		{"no placeholders", "no placeholders"},
		{"{{name}}{{name}}", "AdaAda"},
	}
	for _, tt := range tests {
		if got := Render(tt.tmpl, inputs, known); got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""}, {"s", "s"}, {0.5, "0.5"}, {1e21, "1000000000000000000000"}, {false, "false"}, {[]any{1.0, "x"}, `[1,"x"]`},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
