package tessera

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Agent types. Tess lists image and video too; Tessera runs text models only.
const (
	AgentTypeChat = "chat"
	AgentTypeText = "text"
)

// Question types, as Tess's Get Agent reports them.
const (
	QuestionText        = "text"
	QuestionTextarea    = "textarea"
	QuestionSelect      = "select"
	QuestionMultiselect = "multiselect"
	QuestionNumber      = "number"
	QuestionBoolean     = "boolean"
	QuestionArray       = "array"
	QuestionObject      = "object"
	QuestionFile        = "file"
)

var questionTypes = []string{
	QuestionText, QuestionTextarea, QuestionSelect, QuestionMultiselect, QuestionNumber,
	QuestionBoolean, QuestionArray, QuestionObject, QuestionFile,
}

// Question is one input field of an agent. Clients build their forms from
// questions and send the answers back as root-level fields named Name.
type Question struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Required    bool     `json:"required"`
	Options     []string `json:"options,omitempty"`
	Default     any      `json:"default,omitempty"`
	Placeholder string   `json:"placeholder,omitempty"`
}

// Agent is an agent definition (Tess calls it a template).
type Agent struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Type        string `json:"type"`
	// Instructions are the system instructions; they may use {{field}}.
	Instructions string `json:"instructions"`
	// Prompt is the template rendered from the inputs with {{field}}.
	Prompt    string     `json:"prompt"`
	Questions []Question `json:"questions"`
	// Model is the default model (an alias, provider/name or bare name).
	Model string `json:"model"`
	// FallbackModels are tried in order when Model's provider fails.
	FallbackModels []string `json:"fallback_models"`
	Temperature    *float64 `json:"temperature"`
	Tools          []string `json:"tools"`
	// HTTPTools and MCPServers are tools the agent declares for itself;
	// they join its own tool set.
	HTTPTools  []HTTPTool  `json:"http_tools"`
	MCPServers []MCPServer `json:"mcp_servers"`
	// OutputSchema, when set, is the JSON Schema the final answer must
	// satisfy; the parsed object is the execution's structured output.
	OutputSchema  json.RawMessage `json:"output_schema,omitempty"`
	MaxIterations int             `json:"max_iterations"`
	// TimeoutSeconds is the agent's execution deadline; 0 means the
	// server's default. Requests may lower it, never raise it past the
	// server's maximum.
	TimeoutSeconds int `json:"timeout_seconds"`
	// MultitaskStrategy says what a new turn does while its thread is busy:
	// enqueue (the default), reject or interrupt.
	MultitaskStrategy string `json:"multitask_strategy"`
	Visibility        string `json:"visibility"`
	// Source is "api" for agents made through the API, "config" for agents
	// declared in the config file.
	Source    string    `json:"source"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Limits on agent definitions, so that one row cannot grow without bound.
const (
	MaxAgentTitle        = 200
	MaxAgentInstructions = 100_000
	MaxQuestions         = 100
	MaxQuestionOptions   = 200
	MaxIterationsCap     = 100
	MaxFallbackModels    = 5
	DefaultMaxIterations = 10
)

// Names reserved by the execute API: a question may not use them, because
// they mean something else at the root of an execute body.
var reservedNames = []string{
	"messages", "root_id", "temperature", "model", "tools", "file_ids", "memory_collections",
	"waitExecution", "wait_execution", "stream", "answers", "timeout", "multitask_strategy",
}

// IsReservedName reports whether name means something else at the root of
// an execute body, so that no question may use it.
func IsReservedName(name string) bool { return slices.Contains(reservedNames, name) }

var questionNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_\-]{0,63}$`)

// Validate checks an agent definition and fills defaults. It returns an
// EINVALID error listing every problem.
func (a *Agent) Validate() error {
	var v ValidationErrors
	a.Title = strings.TrimSpace(a.Title)
	switch {
	case a.Title == "":
		v.Add("title", "The title field is required.")
	case len(a.Title) > MaxAgentTitle:
		v.Add("title", "The title may not be greater than %d characters.", MaxAgentTitle)
	}
	if a.Type == "" {
		a.Type = AgentTypeChat
	}
	if a.Type != AgentTypeChat && a.Type != AgentTypeText {
		v.Add("type", "The type must be one of: chat, text.")
	}
	if len(a.Instructions) > MaxAgentInstructions {
		v.Add("instructions", "The instructions may not be greater than %d characters.", MaxAgentInstructions)
	}
	if len(a.Prompt) > MaxAgentInstructions {
		v.Add("prompt", "The prompt may not be greater than %d characters.", MaxAgentInstructions)
	}
	if a.Temperature != nil && (*a.Temperature < 0 || *a.Temperature > 2) {
		v.Add("temperature", "The temperature must be between 0 and 2.")
	}
	if a.MaxIterations == 0 {
		a.MaxIterations = DefaultMaxIterations
	}
	if a.MaxIterations < 1 || a.MaxIterations > MaxIterationsCap {
		v.Add("max_iterations", "The max_iterations must be between 1 and %d.", MaxIterationsCap)
	}
	if a.TimeoutSeconds < 0 || a.TimeoutSeconds > 24*3600 {
		v.Add("timeout_seconds", "The timeout_seconds must be between 0 (the server's default) and 86400.")
	}
	if a.MultitaskStrategy == "" {
		a.MultitaskStrategy = MultitaskEnqueue
	}
	if !ValidMultitask(a.MultitaskStrategy) {
		v.Add("multitask_strategy", "The multitask_strategy must be one of: enqueue, reject, interrupt.")
	}
	if a.Visibility == "" {
		a.Visibility = "private"
	}
	if a.Tools == nil {
		a.Tools = []string{}
	}
	if a.Questions == nil {
		a.Questions = []Question{}
	}
	if a.HTTPTools == nil {
		a.HTTPTools = []HTTPTool{}
	}
	if a.FallbackModels == nil {
		a.FallbackModels = []string{}
	}
	if len(a.FallbackModels) > MaxFallbackModels {
		v.Add("fallback_models", "At most %d fallback models may be listed.", MaxFallbackModels)
	}
	if a.MCPServers == nil {
		a.MCPServers = []MCPServer{}
	}
	validateHTTPTools(&v, "http_tools", a.HTTPTools, nil)
	validateMCPServers(&v, "mcp_servers", a.MCPServers)
	if len(a.OutputSchema) > 0 && string(a.OutputSchema) != "null" && !isJSONObject(a.OutputSchema) {
		v.Add("output_schema", "The output_schema must be a JSON Schema object.")
	}
	if string(a.OutputSchema) == "null" {
		a.OutputSchema = nil
	}
	validateQuestions(&v, a.Questions)
	return v.Err()
}

func validateQuestions(v *ValidationErrors, qs []Question) {
	if len(qs) > MaxQuestions {
		v.Add("questions", "An agent may have at most %d questions.", MaxQuestions)
		return
	}
	seen := map[string]bool{}
	for i := range qs {
		q := &qs[i]
		field := fmt.Sprintf("questions.%d", i)
		switch {
		case !questionNameRE.MatchString(q.Name):
			v.Add(field+".name", "The question name must start with a letter or underscore and use only letters, digits, '_' and '-' (64 at most).")
		case slices.Contains(reservedNames, q.Name):
			v.Add(field+".name", "The question name %q is reserved by the execute API.", q.Name)
		case seen[q.Name]:
			v.Add(field+".name", "The question name %q is used twice.", q.Name)
		}
		seen[q.Name] = true
		if q.Type == "" {
			q.Type = QuestionText
		}
		if !slices.Contains(questionTypes, q.Type) {
			v.Add(field+".type", "The question type must be one of: %s.", strings.Join(questionTypes, ", "))
		}
		if (q.Type == QuestionSelect || q.Type == QuestionMultiselect) && len(q.Options) == 0 {
			v.Add(field+".options", "A %s question needs options.", q.Type)
		}
		if len(q.Options) > MaxQuestionOptions {
			v.Add(field+".options", "A question may have at most %d options.", MaxQuestionOptions)
		}
	}
}

var slugStripRE = regexp.MustCompile(`[^a-z0-9]+`)

// Slugify turns a title into the stem of a slug.
func Slugify(title string) string {
	s := strings.Trim(slugStripRE.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 60 {
		s = strings.TrimRight(s[:60], "-")
	}
	if s == "" {
		s = "agent"
	}
	return s
}

// Thread policies: what a new turn does while an earlier turn of its thread
// is still queued or running.
const (
	// MultitaskEnqueue runs the new turn after the earlier ones, with their
	// output in its history.
	MultitaskEnqueue = "enqueue"
	// MultitaskReject refuses the new turn (409).
	MultitaskReject = "reject"
	// MultitaskInterrupt cancels the earlier turns, then runs the new one.
	MultitaskInterrupt = "interrupt"
)

// ValidMultitask reports whether s names a thread policy.
func ValidMultitask(s string) bool {
	return s == MultitaskEnqueue || s == MultitaskReject || s == MultitaskInterrupt
}

// nonDefinition are the JSON fields of an Agent that a new version does not
// record as changes: identity, bookkeeping and times.
var nonDefinition = []string{"id", "workspace_id", "version", "created_at", "updated_at", "source"}

// Definition returns the agent's definition fields as JSON values by name.
func (a *Agent) Definition() map[string]json.RawMessage {
	b, err := json.Marshal(a)
	if err != nil {
		return nil // an Agent always marshals: it holds only JSON-safe values
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	for _, k := range nonDefinition {
		delete(m, k)
	}
	return m
}

// ChangedFields names the definition fields that differ between two
// versions of an agent, sorted; nil old means every field is new.
func ChangedFields(old, new *Agent) []string {
	n := new.Definition()
	var o map[string]json.RawMessage
	if old != nil {
		o = old.Definition()
	}
	var out []string
	for k, v := range n {
		if prev, ok := o[k]; !ok || !jsonEqual(prev, v) {
			out = append(out, k)
		}
	}
	for k := range o {
		if _, ok := n[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// jsonEqual compares two JSON values by meaning: key order and spacing
// aside; an empty list and null are the same definition.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(emptyAsNil(x), emptyAsNil(y))
}

func emptyAsNil(v any) any {
	if l, ok := v.([]any); ok && len(l) == 0 {
		return nil
	}
	return v
}

// VersionRecord is what a write of a publishes as a version: the snapshot
// of its definition and the summary of what changed from old (nil for a
// new agent). Both stores record it in the write's transaction.
func VersionRecord(old, a *Agent) (snapshot []byte, summary string, err error) {
	snapshot, err = json.Marshal(a)
	if err != nil {
		return nil, "", fmt.Errorf("encode version snapshot: %w", err)
	}
	summary = "created"
	if old != nil {
		summary = strings.Join(ChangedFields(old, a), ", ")
	}
	return snapshot, summary, nil
}
