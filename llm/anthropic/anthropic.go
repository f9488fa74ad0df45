package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/tessera-run/tessera/llm"
)

// Defaults of Config.
const (
	DefaultName      = "anthropic"
	DefaultTimeout   = 120 * time.Second
	DefaultMaxTokens = 4096
)

// Config configures a Provider.
type Config struct {
	// Name is the provider's name in model specs; default "anthropic".
	Name string
	// APIKey is sent as a bearer token, as the SDK does for API version
	// 2026-10-21. Empty sends no credentials at all (for a proxy that adds
	// its own).
	APIKey string
	// BaseURL is the API root, without /v1, e.g. "https://proxy.example";
	// default the SDK's, https://api.anthropic.com/.
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
	// MaxTokens is the output cap sent when a request sets none: the API
	// requires one. Default 4096.
	MaxTokens int
}

// Provider is an llm.Provider over the Anthropic Messages API. It is safe
// for concurrent use.
type Provider struct {
	name       string
	apiKey     string // kept only to redact it from error messages
	timeout    time.Duration
	maxRetries int
	maxTokens  int
	messages   sdk.MessageService
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
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("anthropic: provider %q: %w", cfg.Name, err)
	}
	opts, err := clientOptions(cfg)
	if err != nil {
		return nil, fmt.Errorf("anthropic: provider %q: %w", cfg.Name, err)
	}
	return &Provider{
		name:       cfg.Name,
		apiKey:     cfg.APIKey,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		maxTokens:  cfg.MaxTokens,
		// The service, unlike sdk.NewClient, reads no ANTHROPIC_* variables
		// and no credential profile from disk.
		messages: sdk.NewMessageService(opts...),
	}, nil
}

func (cfg Config) validate() error {
	switch {
	case cfg.Timeout < 0:
		return errors.New("negative timeout")
	case cfg.MaxRetries < 0:
		return errors.New("negative max retries")
	case cfg.MaxTokens < 0:
		return errors.New("negative max tokens")
	}
	return nil
}

func clientOptions(cfg Config) ([]option.RequestOption, error) {
	opts := []option.RequestOption{
		option.WithEnvironmentProduction(), // the default base URL
		option.WithMaxRetries(0),           // one attempt: retries are Tessera's job
	}
	if cfg.APIKey != "" { // the SDK would send "Bearer " for an empty key
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not quoted: it may carry credentials.
			return nil, errors.New("base URL must be an absolute http or https URL")
		}
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
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

// Generate runs one Messages call, streamed when stream is non-nil.
// Errors from the server or the network are *llm.Error of kind auth,
// invalid, rate_limited, unavailable (also for the Timeout), quota,
// not_found or cancelled; a request that cannot be mapped fails as invalid
// before anything is sent; an error returned by stream is returned as is.
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

// params maps a request to the SDK's parameters. Request.Temperature is
// not sent: API version 2026-10-21 refuses every sampling parameter, and
// the SDK has no field for them.
func (p *Provider) params(req *llm.Request) (sdk.MessageNewParams, error) {
	var params sdk.MessageNewParams
	if req == nil || req.Model == "" {
		return params, p.newError(0, llm.ErrKindInvalid, "the request names no model", nil)
	}
	params.Model = req.Model
	system, messages, err := messageParams(req.Messages)
	if err != nil {
		return params, p.newError(0, llm.ErrKindInvalid, err.Error(), nil)
	}
	if system != "" {
		params.System = []sdk.TextBlockParam{{Text: system}}
	}
	params.Messages = messages
	params.MaxTokens = int64(p.maxTokens)
	if req.MaxTokens > 0 {
		params.MaxTokens = int64(req.MaxTokens)
	}
	if len(req.Tools) > 0 { // no tools: no "tools" key at all
		tools, err := toolParams(req.Tools)
		if err != nil {
			return params, p.newError(0, llm.ErrKindInvalid, err.Error(), nil)
		}
		params.Tools = tools
	}
	if len(req.OutputSchema) > 0 {
		format, err := outputFormat(req.OutputSchema)
		if err != nil {
			return params, p.newError(0, llm.ErrKindInvalid, err.Error(), nil)
		}
		params.OutputConfig.Format = format
	}
	return params, nil
}

// outputFormat maps an output schema to a json_schema output format. The
// schema goes through the SDK's own transformation to the subset that
// structured outputs accept (objects closed with additionalProperties
// false, unsupported keywords moved into the description); a schema the
// transformation cannot read is sent as written. The engine validates the
// answer against the full schema either way.
func outputFormat(raw json.RawMessage) (sdk.JSONOutputFormatParam, error) {
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil || schema == nil {
		return sdk.JSONOutputFormatParam{}, errors.New("the output schema is not a JSON object")
	}
	if t, ok := sdk.BetaJSONSchemaOutputFormat(schema).Schema.(map[string]any); ok && t != nil {
		schema = t
	}
	return sdk.JSONOutputFormatParam{Schema: schema}, nil
}

// complete runs a non-streamed call. ctx is the caller's, callCtx carries
// the per-call timeout; classification needs both to tell them apart.
func (p *Provider) complete(ctx, callCtx context.Context, params sdk.MessageNewParams) (*llm.Response, error) {
	var res *http.Response
	msg, err := p.messages.New(callCtx, params,
		option.WithResponseInto(&res),
		// An explicit timeout stops the SDK from refusing a large max_tokens
		// unstreamed ("streaming is required"); callCtx bounds the call anyway.
		option.WithRequestTimeout(p.timeout))
	if err != nil {
		return nil, p.classify(ctx, callCtx, err, res)
	}
	return response(msg, nil), nil
}

// response maps a whole message. args, when non-nil, holds the tool input
// JSON streamed for the content block at each index, as the model wrote it.
func response(msg *sdk.Message, args map[int64]string) *llm.Response {
	var text strings.Builder
	var calls []llm.ToolCall
	for i, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			input, streamed := args[int64(i)]
			if !streamed {
				input = string(b.Input)
			}
			calls = append(calls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: arguments(input)})
		}
	}
	return &llm.Response{
		Content:      text.String(),
		ToolCalls:    calls,
		FinishReason: finishReason(msg.StopReason),
		Usage:        usage(msg.Usage),
		Model:        msg.Model,
	}
}

// finishReason maps a stop reason to the values OpenAI uses, which the
// rest of Tessera speaks; any other reason (pause_turn, a new one) is
// passed on as the API sent it.
func finishReason(r sdk.StopReason) string {
	switch r {
	case sdk.StopReasonEndTurn, sdk.StopReasonStopSequence:
		return "stop"
	case sdk.StopReasonToolUse:
		return "tool_calls"
	case sdk.StopReasonMaxTokens, sdk.StopReasonModelContextWindowExceeded:
		return "length"
	case sdk.StopReasonRefusal:
		return "content_filter"
	}
	return string(r)
}

// usage maps the API's usage. Anthropic counts cache reads and cache
// writes apart from input_tokens; InputTokens is their sum, the whole
// prompt, as OpenAI's prompt_tokens is.
func usage(u sdk.Usage) llm.Usage {
	return llm.Usage{
		InputTokens:       u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens,
		ReasoningTokens:   u.OutputTokensDetails.ThinkingTokens,
	}
}
