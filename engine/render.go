package engine

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*\}\}`)

// Render replaces each {{name}} in tmpl with the input of that name.
// Placeholders naming a known question without an answer become empty;
// placeholders naming no question are left as written, since they may be
// literal text.
func Render(tmpl string, inputs map[string]any, known func(name string) bool) string {
	if !strings.Contains(tmpl, "{{") {
		return tmpl
	}
	return placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if v, ok := inputs[name]; ok {
			return FormatValue(v)
		}
		if known(name) {
			return ""
		}
		return m
	})
}

// FormatValue is how an input reads inside a prompt.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []string:
		return strings.Join(x, ", ")
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	}
}
