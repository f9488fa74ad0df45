package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tessera-run/tessera"
)

func msgs(pairs ...string) []tessera.Message {
	var out []tessera.Message
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, tessera.Message{Role: pairs[i], Content: pairs[i+1]})
	}
	return out
}

func TestParseMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  string
		want []tessera.Message
	}{
		{"array", `[{"role":"user","content":"hi"}]`, msgs("user", "hi")},
		{"plain string is one user message", `"hello there"`, msgs("user", "hello there")},
		{"role is normalised", `[{"role":" User ","content":"x"}]`, msgs("user", "x")},
		{"content parts", `[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}]`, msgs("user", "a\nb")},
		{"null", `null`, nil},
		{"blank string", `"  "`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMessages(json.RawMessage(tt.raw))
			if err != nil {
				t.Fatalf("ParseMessages: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`5`, `{"role":"user"}`, `[{"role":"user","content":{"a":1}}]`, `[1,2]`} {
		if _, err := ParseMessages(json.RawMessage(bad)); tessera.ErrorCode(err) != tessera.EINVALID {
			t.Errorf("ParseMessages(%s) err = %v, want EINVALID", bad, err)
		}
	}
}

func TestCheckMessages(t *testing.T) {
	t.Parallel()
	const pair = "Chat messages must be a pair of user/assistant"
	tests := []struct {
		name string
		in   []tessera.Message
		want string // "" means valid
	}{
		{"single user", msgs("user", "a"), ""},
		{"developer first", msgs("developer", "d", "user", "a"), ""},
		{"alternating", msgs("user", "a", "assistant", "b", "user", "c"), ""},
		{"developer then alternating", msgs("developer", "d", "user", "a", "assistant", "b", "user", "c"), ""},
		{"two users", msgs("user", "a", "user", "b"), pair},
		{"two assistants", msgs("user", "a", "assistant", "b", "assistant", "c", "user", "d"), pair},
		{"starts with assistant", msgs("assistant", "a", "user", "b"), pair},
		{"ends with assistant", msgs("user", "a", "assistant", "b"), "The last message must be the user's."},
		{"system rejected", msgs("system", "s", "user", "a"), "The system role is not supported in messages; send a developer message first instead."},
		{"developer later", msgs("user", "a", "developer", "d"), "A developer message is only allowed as the first message."},
		{"unknown role", msgs("tool", "x"), `The role "tool" is not supported; use user, assistant or developer.`},
		{"only developer", msgs("developer", "d"), "The messages field must contain a user message."},
		{"empty", nil, "The messages field must contain a user message."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckMessages(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckMessages: %v", err)
				}
				return
			}
			if got := tessera.ErrorMessage(err); got != tt.want || tessera.ErrorCode(err) != tessera.EINVALID {
				t.Errorf("err = %v (%q), want EINVALID %q", err, got, tt.want)
			}
		})
	}
}

func TestDropHistoryPrefix(t *testing.T) {
	t.Parallel()
	history := msgs("user", "a", "assistant", "b")
	if got := dropHistoryPrefix(history, msgs("user", "a", "assistant", "b", "user", "c")); !reflect.DeepEqual(got, msgs("user", "c")) {
		t.Errorf("resent history not dropped: %v", got)
	}
	if got := dropHistoryPrefix(history, msgs("user", "c")); !reflect.DeepEqual(got, msgs("user", "c")) {
		t.Errorf("new message changed: %v", got)
	}
	other := msgs("user", "x", "assistant", "y", "user", "z")
	if got := dropHistoryPrefix(history, other); !reflect.DeepEqual(got, other) {
		t.Errorf("different history dropped: %v", got)
	}
}
