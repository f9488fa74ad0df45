package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool"
)

// reactFormat teaches the text protocol to models without tool calling.
const reactFormat = `You can use these tools:

%s
To use a tool, answer exactly in this format and stop:

Thought: what you think about the next step
Action: the tool's name, one of [%s]
Action Input: the tool's arguments as one JSON object

You will get the tool's result as "Observation: …". When you know the answer, reply:

Thought: I know the answer
Final Answer: the answer for the user`

var (
	reactAction = regexp.MustCompile(`(?m)^\s*Action\s*:\s*(.+?)\s*$`)
	reactInput  = regexp.MustCompile(`(?s)Action\s*Input\s*:\s*(.*)`)
	reactFinal  = regexp.MustCompile(`(?s)Final\s*Answer\s*:\s*(.*)`)
	reactThink  = regexp.MustCompile(`(?s)^\s*Thought\s*:\s*(.*?)\s*(?:Action\s*:|Final\s*Answer\s*:|$)`)
)

// reactStep is one parsed reply of the text protocol.
type reactStep struct {
	thought, action, input, final string
	isFinal                       bool
	problem                       string // why the reply is malformed
}

// parseReact reads a reply. A hallucinated "Observation:" and what follows
// are ignored: observations come from the tools.
func parseReact(text string) reactStep {
	if i := strings.Index(text, "\nObservation:"); i >= 0 {
		text = text[:i]
	}
	var st reactStep
	if m := reactThink.FindStringSubmatch(text); m != nil {
		st.thought = strings.TrimSpace(m[1])
	}
	if m := reactFinal.FindStringSubmatch(text); m != nil && !reactAction.MatchString(text[:strings.Index(text, m[0])]) {
		st.isFinal, st.final = true, strings.TrimSpace(m[1])
		return st
	}
	m := reactAction.FindStringSubmatch(text)
	if m == nil {
		st.problem = `your reply has neither "Action:" nor "Final Answer:"; follow the format`
		return st
	}
	// Spaces, then quotes and brackets, then spaces inside them ("` calc `").
	st.action = strings.TrimSpace(strings.Trim(strings.TrimSpace(m[1]), "`\"'[]"))
	in := reactInput.FindStringSubmatch(text)
	if in == nil {
		st.problem = `"Action:" must be followed by "Action Input:" with a JSON object`
		return st
	}
	st.input = strings.TrimSpace(strings.Trim(strings.TrimSpace(in[1]), "`"))
	st.input = strings.TrimSpace(strings.TrimPrefix(st.input, "json"))
	var obj map[string]any
	if json.Unmarshal([]byte(st.input), &obj) != nil || obj == nil { // null unmarshals into a map as nil
		st.problem = "the Action Input is not a JSON object"
	}
	return st
}

// reactLoop is the tool loop over the text protocol.
func (e *Engine) reactLoop(ctx context.Context, ex *tessera.Execution, res *llm.Resolved, msgs []llm.Message, tools []tool.Tool, out *output) outcome {
	byName := make(map[string]tool.Tool, len(tools))
	var list strings.Builder
	names := make([]string, 0, len(tools))
	for _, t := range tools {
		byName[t.Name()] = t
		names = append(names, t.Name())
		fmt.Fprintf(&list, "- %s: %s Arguments (JSON Schema): %s\n", t.Name(), t.Description(), t.Parameters())
	}
	msgs = withSystem(msgs, fmt.Sprintf(reactFormat, list.String(), strings.Join(names, ", ")))
	maxIter := max(ex.MaxIterations, 1)
	m := newMeter(res)
	step := 0
	last := ""
	for turn := 1; turn <= maxIter; turn++ {
		e.appendEvent(ex, tessera.EventIterationStarted, map[string]int{"turn": turn, "iteration": step + 1})
		start := time.Now()
		resp, err := res.Provider.Generate(ctx, &llm.Request{Model: res.Model, Messages: msgs, Temperature: ex.Temperature}, streamFor(res, out))
		if err != nil {
			return e.callFailed(ctx, ex, err, out, m)
		}
		m.add(res, resp)
		reply := clean(resp.Content)
		st := parseReact(reply)
		step++
		it := &tessera.Iteration{Iteration: step, Thought: st.thought, InputTokens: resp.Usage.InputTokens,
			OutputTokens: resp.Usage.OutputTokens, LatencyMS: time.Since(start).Milliseconds(), ProviderAttempts: attempts(resp.Attempts)}
		if st.isFinal {
			last = st.final
			it.Action, it.ActionInput, it.Observation = tessera.FinalAnswer, json.RawMessage(`{}`), last
			e.record(ex, it)
			o := outcome{status: tessera.StatusCompleted, output: last, stopReason: tessera.StopFinalAnswer, steps: step}
			m.fill(&o)
			return o
		}
		it.Action, it.ActionInput = st.action, actionInput(st.input)
		obs := tool.Observation{IsError: true, Content: "Error: " + st.problem}
		if st.problem == "" {
			if t, ok := byName[st.action]; ok {
				obs = tool.Invoke(ctx, t, json.RawMessage(st.input), e.cfg.ToolTimeout, e.cfg.ToolMaxOutput)
			} else {
				obs.Content = fmt.Sprintf("Error: there is no tool named %q; the tools are: %s", st.action, strings.Join(names, ", "))
			}
		}
		if ctx.Err() != nil {
			o := e.interrupted(ctx, ex, ctx.Err(), out)
			m.fill(&o)
			return o
		}
		it.Observation = obs.Content
		if obs.IsError {
			it.Error = obs.Content
		}
		e.record(ex, it)
		last = st.thought
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: reply},
			llm.Message{Role: llm.RoleUser, Content: "Observation: " + obs.Content})
	}
	return capReached(m, last, maxIter)
}

// withSystem adds text to the system message, or starts one.
func withSystem(msgs []llm.Message, text string) []llm.Message {
	if len(msgs) > 0 && msgs[0].Role == llm.RoleSystem {
		out := append([]llm.Message{{Role: llm.RoleSystem, Content: msgs[0].Content + "\n\n" + text}}, msgs[1:]...)
		return out
	}
	return append([]llm.Message{{Role: llm.RoleSystem, Content: text}}, msgs...)
}
