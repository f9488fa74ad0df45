package openaicompat_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm/llmtest"
)

func TestChatCompletion(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	var res *http.Response
	client := e.agentClient(e.Chat, option.WithResponseInto(&res))
	c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("hello there"),
	})
	must(t, err)
	if got := c.Choices[0].Message.Content; got != "fake: hello there" {
		t.Errorf("content = %q, want %q", got, "fake: hello there")
	}
	if c.Object != "chat.completion" || c.Choices[0].FinishReason != "stop" || c.Choices[0].Message.Role != "assistant" {
		t.Errorf("object %q, finish_reason %q, role %q", c.Object, c.Choices[0].FinishReason, c.Choices[0].Message.Role)
	}
	// The fake counts words: 2 in, 3 out.
	if c.Usage.PromptTokens != 2 || c.Usage.CompletionTokens != 3 || c.Usage.TotalTokens != 5 {
		t.Errorf("usage = %+v, want 2 + 3 = 5", c.Usage)
	}
	id := res.Header.Get("X-Tessera-Execution-Id")
	if c.ID != "chatcmpl-"+id || id == "" {
		t.Errorf("id = %q, execution header %q", c.ID, id)
	}
	if c.Model != "openai/"+defaultModel {
		t.Errorf("model = %q, want the model used", c.Model)
	}
}

func TestChatCompletionPrefixes(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, base := range []string{"/api/agents/" + strconv.FormatInt(e.Chat.ID, 10) + "/openai", "/agents/helper/openai"} {
		c, err := e.client(base).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "helper", Messages: userMessages("hi"),
		})
		must(t, err)
		if got := c.Choices[0].Message.Content; got != "fake: hi" {
			t.Errorf("%s: content = %q", base, got)
		}
	}
}

// The system role, refused on Tess's execute, is accepted here and reaches
// the model as its system message, together with developer messages.
func TestSystemRole(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	_, err := e.agentClient(e.Chat).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Be brief."), openai.DeveloperMessage("Answer in French."),
			openai.UserMessage("hi"), openai.AssistantMessage("salut"), openai.UserMessage("ça va?"),
		},
	})
	must(t, err)
	got := e.lastRequest(t).Messages
	want := []llmtest.Message{
		{Role: "system", Content: "Be brief.\n\nAnswer in French."},
		{Role: "user", Content: "hi"}, {Role: "assistant", Content: "salut"}, {Role: "user", Content: "ça va?"},
	}
	if len(got) != len(want) {
		t.Fatalf("provider messages = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("provider message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// On the per-agent route the body's model overrides the agent's, aliases
// included, unless it names the agent itself.
func TestModelOverride(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	for _, tc := range []struct{ model, want string }{
		{"openai/other-model", "other-model"},
		{"tess-5", defaultModel},
		{"helper", defaultModel},
		{strconv.FormatInt(e.Chat.ID, 10), defaultModel},
	} {
		_, err := e.agentClient(e.Chat).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: tc.model, Messages: userMessages("hi"),
		})
		must(t, err)
		if got := e.lastRequest(t).Model; got != tc.want {
			t.Errorf("model %q: the provider got %q, want %q", tc.model, got, tc.want)
		}
	}
}

// Tess's extras: temperature as a string, tools as a tool set name,
// root-level fields as answers to the agent's questions.
func TestTessFields(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	_, err := e.agentClient(e.Topical).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("go"),
	}, option.WithJSONSet("temperature", "0.5"), option.WithJSONSet("tools", "no-tools"), option.WithJSONSet("topic", "cats"),
		option.WithJSONSet("max_tokens", 10), option.WithJSONSet("user", "someone"), option.WithJSONSet("n", 1))
	must(t, err)
	req := e.lastRequest(t)
	if req.Temperature == nil || *req.Temperature != 0.5 {
		t.Errorf("provider temperature = %v, want 0.5", req.Temperature)
	}
	if sys := req.Messages[0]; sys.Role != "system" || !strings.Contains(sys.Content, "Talk about cats.") {
		t.Errorf("provider system message = %+v, want the prompt rendered with topic", sys)
	}
	_, err = e.agentClient(e.Topical).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("go"),
	})
	wantAPIError(t, err, http.StatusBadRequest, "topic", "The topic field is required.")
}

func TestV1ChatCompletions(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	client := e.client("/v1")
	for _, model := range []string{"helper", strconv.FormatInt(e.Chat.ID, 10)} {
		c, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: model, Messages: userMessages("hi " + model),
		})
		must(t, err)
		if got := c.Choices[0].Message.Content; got != "fake: hi "+model {
			t.Errorf("model %q: content = %q", model, got)
		}
		if got := e.lastRequest(t).Model; got != defaultModel {
			t.Errorf("model %q: the provider got model %q, want the agent's", model, got)
		}
	}
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "nobody", Messages: userMessages("hi"),
	})
	apiErr := wantAPIError(t, err, http.StatusNotFound, "model", "does not exist")
	if apiErr != nil && apiErr.Code != "model_not_found" {
		t.Errorf("code = %q, want model_not_found", apiErr.Code)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	ctx := context.Background()
	tools := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "lookup"})}
	for _, tc := range []struct {
		name   string
		client *openai.Client
		params openai.ChatCompletionNewParams
		param  string
		msg    string
	}{
		{"function tools", e.agentClient(e.Chat), openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("hi"), Tools: tools},
			"tools", "function tools are not supported; tools names a Tess tool set"},
		{"text agent", e.agentClient(e.Text), openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("hi")},
			"", "chat agents only"},
		{"text agent as a model", e.client("/v1"), openai.ChatCompletionNewParams{Model: "writer", Messages: userMessages("hi")},
			"", "chat agents only"},
		{"another agent as the model", e.agentClient(e.Chat), openai.ChatCompletionNewParams{Model: "topical", Messages: userMessages("hi")},
			"model", "names another agent"},
		{"two user messages", e.agentClient(e.Chat), openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("a", "b")},
			"messages", "Chat messages must be a pair of user/assistant"},
		{"n above 1", e.agentClient(e.Chat), openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("a"), N: openai.Int(2)},
			"n", "Only n=1"},
		{"bad temperature", e.agentClient(e.Chat), openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("a"), Temperature: openai.Float(3)},
			"temperature", "between 0 and 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.Chat.Completions.New(ctx, tc.params)
			wantAPIError(t, err, http.StatusBadRequest, tc.param, tc.msg)
		})
	}
	if n := len(e.Fake.Requests()); n != 0 {
		t.Errorf("the provider got %d requests, want none", n)
	}
}

func TestProviderFailure(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	e.Fake.SetHandler(func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Status: http.StatusBadRequest, ErrorMessage: "the model is on fire"}
	})
	params := openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("hi")}
	var res *http.Response
	_, err := e.agentClient(e.Chat, option.WithResponseInto(&res)).Chat.Completions.New(context.Background(), params)
	apiErr := wantAPIError(t, err, http.StatusBadGateway, "", "the model is on fire")
	if apiErr != nil && apiErr.Code != "upstream_error" {
		t.Errorf("code = %q, want upstream_error", apiErr.Code)
	}
	if res.Header.Get("X-Should-Retry") != "false" || res.Header.Get("X-Tessera-Execution-Id") == "" {
		t.Errorf("headers = %v, want no retry and the execution id", res.Header)
	}

	stream := e.agentClient(e.Chat).Chat.Completions.NewStreaming(context.Background(), params)
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "the model is on fire") {
		t.Errorf("stream error = %v, want the provider's failure", err)
	}
}

// A request still running after the server's wait is a 504 naming the
// execution, which carries on.
func TestStillRunning(t *testing.T) {
	t.Parallel()
	e := setup(t, options{maxWait: 200 * time.Millisecond})
	e.Fake.Block()
	var res *http.Response
	_, err := e.agentClient(e.Chat, option.WithResponseInto(&res)).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "tess-5", Messages: userMessages("slow"),
	})
	id := res.Header.Get("X-Tessera-Execution-Id")
	wantAPIError(t, err, http.StatusGatewayTimeout, "", "/agent-responses/"+id)
	e.Fake.Release()
	ex := e.wait(t, id)
	if ex.Status != tessera.StatusCompleted || ex.Output != "fake: slow" {
		t.Errorf("execution = %s %q, want completed", ex.Status, ex.Output)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := setup(t, options{})
	params := openai.ChatCompletionNewParams{Model: "tess-5", Messages: userMessages("once")}
	var ids []string
	for range 2 {
		c, err := e.agentClient(e.Chat, option.WithHeader("Idempotency-Key", "k1")).Chat.Completions.New(context.Background(), params)
		must(t, err)
		ids = append(ids, c.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("ids = %v, want one execution", ids)
	}
	params.Messages = userMessages("other")
	_, err := e.agentClient(e.Chat, option.WithHeader("Idempotency-Key", "k1")).Chat.Completions.New(context.Background(), params)
	wantAPIError(t, err, http.StatusConflict, "", "")
	if n := len(e.Fake.Requests()); n != 1 {
		t.Errorf("the provider got %d requests, want 1", n)
	}
}

// wantAPIError checks that err is the SDK's API error with status, param
// (when not empty) and a message containing msg.
func wantAPIError(t *testing.T, err error, status int, param, msg string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("err = %v, want an API error %d", err, status)
		return nil
	}
	if apiErr.StatusCode != status || !strings.Contains(apiErr.Message, msg) || (param != "" && apiErr.Param != param) {
		t.Errorf("error = %d param %q %q, want %d param %q containing %q", apiErr.StatusCode, apiErr.Param, apiErr.Message, status, param, msg)
	}
	if apiErr.Type == "" {
		t.Errorf("error has no type: %s", apiErr.RawJSON())
	}
	return apiErr
}

// wait waits for the execution named by the id header to finish.
func (e *env) wait(t *testing.T, id string) *tessera.Execution {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	must(t, err)
	ex, err := e.Engine.Wait(context.Background(), tessera.DefaultWorkspaceID, n, 10*time.Second)
	must(t, err)
	return ex
}
