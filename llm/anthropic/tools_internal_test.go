package anthropic

import "testing"

func TestToolInput(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"":                     `{}`,
		"  ":                   `{}`,
		`{"a": 1}`:             `{"a": 1}`,
		" {\"a\":{\"b\":[]}} ": `{"a":{"b":[]}}`,
		`{"a": 1`:              `{}`,
		`{"a": 1} {}`:          `{}`,
		`[1, 2]`:               `{}`,
		`"text"`:               `{}`,
		`null`:                 `{}`,
	} {
		if got := string(toolInput(args)); got != want {
			t.Errorf("toolInput(%q) = %s, want %s", args, got, want)
		}
	}
}

func TestArguments(t *testing.T) {
	t.Parallel()
	for input, want := range map[string]string{
		"":                             `{}`,
		`{}`:                           `{}`,
		"{\n  \"city\": \"Paris\"\n}":  `{"city":"Paris"}`,
		`{"city": "Par`:                `{"city": "Par`,
		` {"q": "a  b", "n": [1, 2]} `: `{"q":"a  b","n":[1,2]}`,
	} {
		if got := arguments(input); got != want {
			t.Errorf("arguments(%q) = %s, want %s", input, got, want)
		}
	}
}
