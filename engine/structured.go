package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
)

// schemaURL is where a user's schema is registered with the compiler; it
// is never fetched.
const schemaURL = "tessera:///output_schema.json"

// noLoader refuses every $ref outside the schema itself. The compiler's
// default reads file:// URLs, and a schema written by a workspace user must
// not read the server's files (nor reach the network).
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %s: only references within the schema are allowed", url)
}

// compileSchema compiles an agent's output_schema.
func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, tessera.Errorf(tessera.EINVALID, "The output_schema is not valid JSON: %v", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, tessera.Errorf(tessera.EINVALID, "The output_schema must be a JSON Schema object.")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, tessera.Errorf(tessera.EINVALID, "The output_schema is not a valid JSON Schema: %v", err)
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		return nil, tessera.Errorf(tessera.EINVALID, "The output_schema is not a valid JSON Schema: %s", strings.ReplaceAll(err.Error(), schemaURL, "output_schema"))
	}
	return s, nil
}

// schemaInstructions tell a model how to answer when the agent has an
// output_schema. They are sent to every model: a provider's structured
// output holds the answer to the schema, and the words still help it fill
// the fields well.
func schemaInstructions(schema json.RawMessage) string {
	return "Your final answer must be a single JSON object that satisfies this JSON Schema, with no other text before or after it:\n" + string(schema)
}

// parseStructured finds the JSON value of an answer (the whole text, or a
// fenced ```json block, or the outermost {…}) and validates it. It returns
// the JSON text as the model wrote it.
func parseStructured(answer string, schema *jsonschema.Schema) (json.RawMessage, error) {
	text := extractJSON(answer)
	if text == "" {
		return nil, errors.New("the answer is not a JSON object")
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("the answer is not valid JSON: %v", err)
	}
	if err := schema.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return nil, errors.New(schemaErrors(ve))
		}
		return nil, err
	}
	return json.RawMessage(text), nil
}

// schemaErrors lists the leaf errors of a validation, one per line, with
// the JSON pointer of the value at fault.
func schemaErrors(ve *jsonschema.ValidationError) string {
	var lines []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			at := "/" + strings.Join(e.InstanceLocation, "/")
			lines = append(lines, fmt.Sprintf("at %s: %s", at, e.ErrorKind))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("and %d more", len(lines)-10))
	}
	return strings.Join(lines, "; ")
}

func extractJSON(answer string) string {
	s := strings.TrimSpace(answer)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimPrefix(s, "json")
		if i := strings.LastIndex(s, "```"); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
	}
	if json.Valid([]byte(s)) {
		return s
	}
	i, j := strings.Index(s, "{"), strings.LastIndex(s, "}")
	if i < 0 || j < i {
		return ""
	}
	return s[i : j+1]
}

// structure holds a completed outcome to the agent's output_schema. An
// answer that does not satisfy it gets one repair call, shown the errors;
// if the repaired answer fails too, the execution fails with them (the
// output is kept so the user can see what the model wrote).
func (e *Engine) structure(ctx context.Context, ex *tessera.Execution, agent *tessera.Agent, res *llm.Resolved, msgs []llm.Message, o *outcome) {
	if len(agent.OutputSchema) == 0 || o.status != tessera.StatusCompleted {
		return
	}
	schema, err := compileSchema(agent.OutputSchema)
	if err != nil {
		o.status, o.errMsg = tessera.StatusFailed, tessera.ErrorMessage(err)
		return
	}
	parsed, verr := parseStructured(o.output, schema)
	if verr == nil {
		o.output, o.structured = string(parsed), parsed
		return
	}
	repair := append(msgs[:len(msgs):len(msgs)],
		llm.Message{Role: llm.RoleAssistant, Content: o.output},
		llm.Message{Role: llm.RoleUser, Content: "Your answer does not satisfy the required JSON Schema: " + verr.Error() +
			". Reply again with only the corrected JSON object."})
	start := time.Now()
	resp, err := res.Provider.Generate(ctx, &llm.Request{Model: res.Model, Messages: repair, Temperature: ex.Temperature,
		OutputSchema: e.providerSchema(res, agent)}, nil)
	if err != nil {
		o.status, o.stopReason = tessera.StatusFailed, tessera.StopInvalidOutput
		o.errMsg = "The answer does not satisfy the agent's output_schema (" + verr.Error() + ") and the repair call failed: " + tessera.ErrorMessage(err)
		return
	}
	o.addCall(res, resp)
	fixed := clean(resp.Content)
	parsed, err = parseStructured(fixed, schema)
	if o.steps > 0 {
		o.steps++
		it := &tessera.Iteration{
			Iteration: o.steps, Thought: "The answer did not satisfy the output_schema (" + verr.Error() + "); asked the model to correct it.",
			Action: tessera.FinalAnswer, ActionInput: json.RawMessage(`{}`), Observation: fixed,
			InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens, LatencyMS: time.Since(start).Milliseconds(),
			ProviderAttempts: attempts(resp.Attempts),
		}
		if err != nil {
			it.Error = err.Error()
		}
		e.record(ex, it)
	}
	if err != nil {
		o.output, o.status, o.stopReason = fixed, tessera.StatusFailed, tessera.StopInvalidOutput
		o.errMsg = "The answer does not satisfy the agent's output_schema, even after one repair: " + err.Error()
		return
	}
	o.output, o.structured = string(parsed), parsed
}

// providerSchema is the schema to hand the provider: only to models whose
// table entry says they support structured output.
func (e *Engine) providerSchema(res *llm.Resolved, agent *tessera.Agent) json.RawMessage {
	if res.Price.StructuredOutput {
		return agent.OutputSchema
	}
	return nil
}
