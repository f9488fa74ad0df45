package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tessera-run/tessera/llm"
)

// Defaults of Config.
const (
	DefaultName    = "openai"
	DefaultTimeout = 120 * time.Second
)

// Config configures a Provider.
type Config struct {
	// Name is the provider's name in model specs; default "openai". Give
	// each configured server its own name ("ollama", "vllm", …).
	Name string
	// APIKey is sent as a bearer token. Empty sends no Authorization header
	// at all, which is what keyless local servers (Ollama, llama.cpp) want.
	APIKey string
	// BaseURL is the API root, e.g. "http://localhost:11434/v1"; default
	// the SDK's, https://api.openai.com/v1/.
	BaseURL string
	// HTTPClient replaces http.DefaultClient, e.g. in tests. Its Timeout, if
	// any, also bounds reading a stream, so prefer Config.Timeout.
	HTTPClient *http.Client
	// Timeout bounds one Generate call, streaming included; default 120s.
	Timeout time.Duration
	// MaxRetries is how many times Tessera's retry layer may retry a
	// retryable error of this provider. The provider itself never retries:
	// it only records the value (see Provider.MaxRetries).
	MaxRetries int
	// SystemRole is the role instructions are sent with: "system" (the
	// default, what every compatible server knows) or "developer" (what
	// OpenAI's reasoning models want).
	SystemRole string
	// MaxTokensParam names the output cap on the wire: "max_tokens" (the
	// default, understood by every compatible server) or
	// "max_completion_tokens" (OpenAI's newer name, required by its
	// reasoning models).
	MaxTokensParam string
	// Azure, when set, talks to an Azure OpenAI deployment: BaseURL is the
	// resource endpoint and the key goes in the api-key header.
	Azure *AzureConfig
}

// AzureConfig locates an Azure OpenAI deployment.
type AzureConfig struct {
	Deployment string
	APIVersion string
}

// Values of Config.SystemRole and Config.MaxTokensParam.
const (
	RoleSystem          = "system"
	RoleDeveloper       = "developer"
	MaxTokens           = "max_tokens"
	MaxCompletionTokens = "max_completion_tokens"
)

// Provider is an llm.Provider over an OpenAI-compatible Chat Completions
// API. It is safe for concurrent use.
type Provider struct {
	name           string
	apiKey         string // kept only to redact it from error messages
	timeout        time.Duration
	maxRetries     int
	developerRole  bool
	completionCaps bool // send max_completion_tokens
	chat           sdk.ChatCompletionService
}

var _ llm.Provider = (*Provider)(nil)

// New builds a provider from cfg, filling in the defaults.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("openai: provider %q: negative timeout", cfg.Name)
	}
	if cfg.MaxRetries < 0 {
		return nil, fmt.Errorf("openai: provider %q: negative max retries", cfg.Name)
	}
	if cfg.SystemRole != "" && cfg.SystemRole != RoleSystem && cfg.SystemRole != RoleDeveloper {
		return nil, fmt.Errorf("openai: provider %q: system role must be %q or %q", cfg.Name, RoleSystem, RoleDeveloper)
	}
	if cfg.MaxTokensParam != "" && cfg.MaxTokensParam != MaxTokens && cfg.MaxTokensParam != MaxCompletionTokens {
		return nil, fmt.Errorf("openai: provider %q: max tokens parameter must be %q or %q", cfg.Name, MaxTokens, MaxCompletionTokens)
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("openai: provider %q: %w", cfg.Name, err)
	}
	return &Provider{
		name:           cfg.Name,
		apiKey:         cfg.APIKey,
		timeout:        cfg.Timeout,
		maxRetries:     cfg.MaxRetries,
		developerRole:  cfg.SystemRole == RoleDeveloper,
		completionCaps: cfg.MaxTokensParam == MaxCompletionTokens,
		// The service, unlike sdk.NewClient, does not read the environment.
		chat: sdk.NewChatCompletionService(opts...),
	}, nil
}

func clientOptions(cfg Config) ([]option.RequestOption, error) {
	opts := []option.RequestOption{
		option.WithEnvironmentProduction(), // the default base URL
		option.WithMaxRetries(0),           // one attempt: retries are Tessera's job
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not quoted: it may carry credentials.
			return nil, errors.New("base URL must be an absolute http or https URL")
		}
	}
	switch {
	case cfg.Azure != nil:
		// The deployment's own path, the api-version query and the api-key
		// header: Azure's data-plane API, without the azure package's
		// dependency on the Azure SDK for token credentials.
		if cfg.BaseURL == "" || cfg.Azure.Deployment == "" || cfg.Azure.APIVersion == "" {
			return nil, errors.New("azure needs the resource endpoint (base URL), a deployment and an api-version")
		}
		base := strings.TrimRight(cfg.BaseURL, "/") + "/openai/deployments/" + url.PathEscape(cfg.Azure.Deployment) + "/"
		opts = append(opts, option.WithBaseURL(base), option.WithQuery("api-version", cfg.Azure.APIVersion))
		if cfg.APIKey != "" {
			opts = append(opts, option.WithHeader("api-key", cfg.APIKey))
		}
	default:
		opts = append(opts, option.WithAPIKey(cfg.APIKey)) // the SDK omits the header when empty
		if cfg.BaseURL != "" {
			opts = append(opts, option.WithBaseURL(cfg.BaseURL))
		}
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	return opts, nil
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.name }

// MaxRetries returns Config.MaxRetries, for the caller's retry policy.
func (p *Provider) MaxRetries() int { return p.maxRetries }

// Generate runs one chat completion, streamed when stream is non-nil.
// Errors from the server or the network are *llm.Error; an error returned
// by stream is returned as is.
func (p *Provider) Generate(ctx context.Context, req *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if stream == nil {
		return p.complete(ctx, callCtx, params)
	}
	return p.stream(ctx, callCtx, params, stream)
}

// params maps a request to the SDK's parameters. Only max_tokens is sent:
// the newer max_completion_tokens is not understood by every compatible
// server. Neither tool_choice nor parallel_tool_calls is sent: the
// server's defaults (auto, parallel calls allowed) are what the agent
// loop wants, and not every compatible server knows the latter.
func (p *Provider) params(req *llm.Request) (sdk.ChatCompletionNewParams, error) {
	var params sdk.ChatCompletionNewParams
	if req == nil || req.Model == "" {
		return params, p.newError(0, llm.ErrKindInvalid, "the request names no model", nil)
	}
	params.Model = req.Model
	for i, m := range req.Messages {
		msg, err := messageParam(m, p.developerRole)
		if err != nil {
			return params, p.newError(0, llm.ErrKindInvalid, fmt.Sprintf("message %d %s", i, err), nil)
		}
		params.Messages = append(params.Messages, msg)
	}
	if len(req.Tools) > 0 { // no tools: no "tools" key at all
		tools, err := toolParams(req.Tools)
		if err != nil {
			return params, p.newError(0, llm.ErrKindInvalid, err.Error(), nil)
		}
		params.Tools = tools
	}
	if req.Temperature != nil {
		params.Temperature = param.NewOpt(*req.Temperature)
	}
	switch {
	case req.MaxTokens > 0 && p.completionCaps:
		params.MaxCompletionTokens = param.NewOpt(int64(req.MaxTokens))
	case req.MaxTokens > 0:
		params.MaxTokens = param.NewOpt(int64(req.MaxTokens))
	}
	if len(req.OutputSchema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(req.OutputSchema, &schema); err != nil || schema == nil {
			return params, p.newError(0, llm.ErrKindInvalid, "the output schema is not a JSON object", nil)
		}
		// Not strict: strict mode accepts only a subset of JSON Schema
		// (every property required, no additionalProperties), and the
		// engine validates the answer against the full schema anyway.
		params.ResponseFormat = sdk.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name: "output", Schema: schema,
			}},
		}
	}
	return params, nil
}

// complete runs a non-streamed call. ctx is the caller's, callCtx carries
// the per-call timeout; classification needs both to tell them apart.
func (p *Provider) complete(ctx, callCtx context.Context, params sdk.ChatCompletionNewParams) (*llm.Response, error) {
	var res *http.Response
	cc, err := p.chat.New(callCtx, params, option.WithResponseInto(&res))
	if err != nil {
		return nil, p.classify(ctx, err, res)
	}
	if len(cc.Choices) == 0 {
		return nil, p.newError(http.StatusOK, llm.ErrKindInvalid, "the response has no choices", nil)
	}
	choice := cc.Choices[0]
	return &llm.Response{
		Content:      choice.Message.Content,
		ToolCalls:    toolCalls(choice.Message.ToolCalls),
		FinishReason: choice.FinishReason,
		Usage:        usage(cc.Usage),
		Model:        cc.Model,
	}, nil
}

func usage(u sdk.CompletionUsage) llm.Usage {
	return llm.Usage{
		InputTokens:       u.PromptTokens,
		OutputTokens:      u.CompletionTokens,
		CachedInputTokens: u.PromptTokensDetails.CachedTokens,
		ReasoningTokens:   u.CompletionTokensDetails.ReasoningTokens,
	}
}
