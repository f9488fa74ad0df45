package engine

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// stopWords are what ends a thought: a thought never holds one.
var stopWords = regexp.MustCompile(`Action\s*:|Final\s*Answer\s*:`)

// FuzzParseReact feeds arbitrary replies of a model to the text-ReAct
// parser. Every part it returns is a trimmed substring of the reply before
// any hallucinated observation; a reply is either a final answer, a
// well-formed action (one line of tool name and a JSON object), or a
// problem; and a final answer written back in the protocol parses to
// itself. The seed corpus is in testdata/fuzz/FuzzParseReact.
func FuzzParseReact(f *testing.F) {
	for _, seed := range []string{
		"Thought: look it up\nAction: lookup\nAction Input: {\"q\": \"x\"}",
		"Thought: done\nFinal Answer: 42",
		"Action: `calc`\nAction Input: ```json\n{\"expression\": \"1+1\"}\n```",
		"Thought: x\nAction: a\nAction Input: {}\nObservation: made up\nFinal Answer: no",
		"Final Answer: Action: not a tool",
		"Action: calc\nFinal Answer: both",
		"I do not know the format.",
		"Thought:\nAction:\nAction Input:",
		"Action Input: {} \nAction: [calc]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		st := parseReact(text)
		scope := text
		if i := strings.Index(text, "\nObservation:"); i >= 0 {
			scope = text[:i]
		}
		for name, part := range map[string]string{"thought": st.thought, "action": st.action, "input": st.input, "final": st.final} {
			if !strings.Contains(scope, part) {
				t.Fatalf("%s %q is not in the reply %q", name, part, scope)
			}
			if part != strings.TrimSpace(part) {
				t.Fatalf("%s %q is not trimmed", name, part)
			}
		}
		if stopWords.MatchString(st.thought) {
			t.Fatalf("thought %q runs into the next section", st.thought)
		}
		switch {
		case st.isFinal:
			if st.problem != "" || st.action != "" || st.input != "" {
				t.Fatalf("a final answer with action %q input %q problem %q", st.action, st.input, st.problem)
			}
			again := parseReact("Thought: " + st.thought + "\nFinal Answer: " + st.final)
			if !again.isFinal || again.final != st.final || again.thought != st.thought {
				t.Fatalf("final answer %+v rewritten parses to %+v", st, again)
			}
		case st.problem == "":
			if strings.ContainsAny(st.action, "\r\n") {
				t.Fatalf("action %q spans lines", st.action)
			}
			if !strings.HasPrefix(st.input, "{") {
				t.Fatalf("input %q is not a JSON object", st.input)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(st.input), &obj); err != nil {
				t.Fatalf("input %q accepted: %v", st.input, err)
			}
		}
	})
}
