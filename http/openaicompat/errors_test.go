package openaicompat_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tessera-run/tessera/http/openaicompat"
)

// A bad key is OpenAI's 401 on every route of the surface.
func TestBadToken(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	for _, base := range []string{"/agents/1/openai", "/api/agents/1/openai", "/v1"} {
		client := e.client(base, option.WithAPIKey("not-a-key"))
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "helper", Messages: userMessages("hi")})
		if apiErr := wantAPIError(t, err, http.StatusUnauthorized, "", ""); apiErr != nil && apiErr.Code != "invalid_api_key" {
			t.Errorf("%s: code = %q, want invalid_api_key", base, apiErr.Code)
		}
		_, err = client.Models.List(ctx)
		wantAPIError(t, err, http.StatusUnauthorized, "", "")
	}
	// Tess's own routes keep Tess's shape.
	res, body := e.get(t, "/agents/1", "not-a-key")
	if res.StatusCode != http.StatusForbidden || string(body) != `{"error":"Invalid authentication"}`+"\n" {
		t.Errorf("Tess route: %d %s", res.StatusCode, body)
	}
}

func TestErrorShape(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"unknown route", http.MethodGet, "/v1/embeddings", nil, http.StatusNotFound},
		{"unknown agent", http.MethodPost, "/agents/999/openai/chat/completions", map[string]any{"model": "x"}, http.StatusNotFound},
		{"not an object", http.MethodPost, "/v1/chat/completions", []int{1}, http.StatusBadRequest},
		{"no model", http.MethodPost, "/v1/chat/completions", map[string]any{"messages": "hi"}, http.StatusBadRequest},
		{"tools not a string", http.MethodPost, "/v1/chat/completions", map[string]any{"model": "helper", "tools": 3}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *http.Response
			var body []byte
			if tc.method == http.MethodGet {
				res, body = e.get(t, tc.path, e.Token)
			} else {
				res, body = e.post(t, tc.path, e.Token, tc.body)
			}
			var got struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &got); err != nil || got.Error == nil || got.Error.Message == "" || got.Error.Type == "" {
				t.Errorf("body = %s, want OpenAI's error shape", body)
			}
			if res.StatusCode != tc.status {
				t.Errorf("status = %d, want %d: %s", res.StatusCode, tc.status, body)
			}
		})
	}
}

func TestOwns(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]bool{
		"/v1/chat/completions":                  true,
		"/v1/models":                            true,
		"/agents/5/openai/chat/completions":     true,
		"/api/agents/5/openai/chat/completions": true,
		"/agents/5/openai":                      true,
		"/agents/5/execute":                     false,
		"/agents/5":                             false,
		"/api/v1/agents":                        false,
		"/api/v1/agents/5/openai/models":        false,
		"/agent-responses/5":                    false,
	} {
		if got := openaicompat.Owns(path); got != want {
			t.Errorf("Owns(%q) = %v, want %v", path, got, want)
		}
	}
}
