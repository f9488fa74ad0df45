package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tessera-run/tessera"
)

// Errors of the messages rules, worded as Tess words them.
const (
	msgPairError = "Chat messages must be a pair of user/assistant"
	// MaxMessages bounds one request's messages.
	MaxMessages = 1000
)

// ParseMessages decodes a messages value: an array of {role, content}
// objects, or a plain string (Pipedream sends one), which is a single user
// message. Content may be a string or an array of text parts.
func ParseMessages(raw json.RawMessage) ([]tessera.Message, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalidMessages("The messages field must be an array of messages.")
		}
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		return []tessera.Message{{Role: tessera.RoleUser, Content: s}}, nil
	}
	var items []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidMessages("The messages field must be an array of messages with role and content.")
	}
	if len(items) > MaxMessages {
		return nil, invalidMessages(fmt.Sprintf("The messages field may not have more than %d items.", MaxMessages))
	}
	out := make([]tessera.Message, 0, len(items))
	for i, it := range items {
		content, err := messageContent(it.Content)
		if err != nil {
			return nil, invalidMessages(fmt.Sprintf("The content of message %d must be a string.", i))
		}
		out = append(out, tessera.Message{Role: strings.ToLower(strings.TrimSpace(it.Role)), Content: content})
	}
	return out, nil
}

func messageContent(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" || p.Type == "" {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// CheckMessages enforces the execute API's rules (seed 000): an optional
// developer message only in first place; no system role; user and assistant
// alternating, starting and ending with the user's.
func CheckMessages(msgs []tessera.Message) error {
	rest := msgs
	if len(rest) > 0 && rest[0].Role == tessera.RoleDeveloper {
		rest = rest[1:]
	}
	for i, m := range rest {
		switch m.Role {
		case tessera.RoleUser, tessera.RoleAssistant:
		case tessera.RoleSystem:
			return invalidMessages("The system role is not supported in messages; send a developer message first instead.")
		case tessera.RoleDeveloper:
			return invalidMessages("A developer message is only allowed as the first message.")
		default:
			return invalidMessages(fmt.Sprintf("The role %q is not supported; use user, assistant or developer.", m.Role))
		}
		want := tessera.RoleUser
		if i%2 == 1 {
			want = tessera.RoleAssistant
		}
		if m.Role != want {
			return invalidMessages(msgPairError)
		}
	}
	if len(rest) == 0 {
		return invalidMessages("The messages field must contain a user message.")
	}
	if rest[len(rest)-1].Role != tessera.RoleUser {
		return invalidMessages("The last message must be the user's.")
	}
	return nil
}

func invalidMessages(msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{"messages": {msg}}}
}

// dropHistoryPrefix removes from msgs the turns the thread already holds,
// for clients that send the whole conversation together with root_id.
func dropHistoryPrefix(history, msgs []tessera.Message) []tessera.Message {
	if len(history) == 0 || len(msgs) <= len(history) {
		return msgs
	}
	for i, h := range history {
		if msgs[i] != h {
			return msgs
		}
	}
	return msgs[len(history):]
}
