package tool

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"

	"github.com/tessera-run/tessera"
)

// Tool is one function the model may call. Implementations must be safe for
// concurrent use and honour ctx cancellation.
type Tool interface {
	// Name matches [a-zA-Z0-9_-]{1,64}, the pattern every provider accepts.
	Name() string
	// Description tells the model what the tool does and when to use it.
	Description() string
	// Parameters is the JSON Schema (type object) of the arguments.
	Parameters() json.RawMessage
	// Call runs the tool with args, a JSON object. Errors are written for
	// the model to read: Invoke shows their text as the observation.
	Call(ctx context.Context, args json.RawMessage) (Result, error)
}

// Result is what a tool call produced.
type Result struct {
	Content string
	// Truncated reports that the tool itself cut its output (a response
	// body over the size limit, say).
	Truncated bool
}

// CallFunc is the signature of Tool.Call.
type CallFunc func(ctx context.Context, args json.RawMessage) (Result, error)

// Func returns a Tool made of its parts, for tools that need no state of
// their own (and for tests).
func Func(name, description string, parameters json.RawMessage, call CallFunc) Tool {
	return &funcTool{name: name, description: description, parameters: parameters, call: call}
}

type funcTool struct {
	name, description string
	parameters        json.RawMessage
	call              CallFunc
}

func (t *funcTool) Name() string                { return t.name }
func (t *funcTool) Description() string         { return t.description }
func (t *funcTool) Parameters() json.RawMessage { return t.parameters }
func (t *funcTool) Call(ctx context.Context, args json.RawMessage) (Result, error) {
	return t.call(ctx, args)
}

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Set is the ordered collection of tools bound to one model request; names
// are unique because the model calls tools by name.
type Set struct {
	tools  []Tool
	byName map[string]Tool
}

// NewSet returns a Set of tools in the given order. It returns an EINVALID
// error when a tool is nil, a name does not match the provider pattern, a
// name repeats, or the parameters are not a JSON object.
func NewSet(tools ...Tool) (*Set, error) {
	s := &Set{byName: make(map[string]Tool, len(tools))}
	for _, t := range tools {
		if err := s.add(t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) add(t Tool) error {
	if t == nil {
		return tessera.Errorf(tessera.EINVALID, "tool %d is nil", len(s.tools))
	}
	name := t.Name()
	if !validName.MatchString(name) {
		return tessera.Errorf(tessera.EINVALID, "tool name %q must match [a-zA-Z0-9_-]{1,64}", name)
	}
	if _, dup := s.byName[name]; dup {
		return tessera.Errorf(tessera.EINVALID, "tool name %q is used twice", name)
	}
	var schema map[string]any
	if err := json.Unmarshal(t.Parameters(), &schema); err != nil || schema == nil {
		return tessera.Errorf(tessera.EINVALID, "tool %q: parameters must be a JSON Schema object", name)
	}
	s.tools = append(s.tools, t)
	s.byName[name] = t
	return nil
}

// Get returns the tool called name.
func (s *Set) Get(name string) (Tool, bool) {
	t, ok := s.byName[name]
	return t, ok
}

// List returns the tools in order; the slice is a copy.
func (s *Set) List() []Tool { return slices.Clone(s.tools) }

// Len returns the number of tools.
func (s *Set) Len() int { return len(s.tools) }
