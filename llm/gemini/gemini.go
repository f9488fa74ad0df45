package gemini

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/genai"

	"github.com/tessera-run/tessera/llm"
)

// Defaults of Config.
const (
	DefaultName    = "gemini"
	DefaultBaseURL = "https://generativelanguage.googleapis.com/"
	DefaultTimeout = 120 * time.Second
)

// apiVersion is the Gemini API version the provider speaks. It is set
// explicitly so that an SDK upgrade cannot move it.
const apiVersion = "v1beta"

// Config configures a Provider.
type Config struct {
	// Name is the provider's name in model specs; default "gemini".
	Name string
	// APIKey is the Gemini API key, sent in the x-goog-api-key header. It is
	// required: the provider never falls back to GEMINI_API_KEY or to Google
	// default credentials.
	APIKey string
	// BaseURL is the API root, without the version; default
	// https://generativelanguage.googleapis.com/.
	BaseURL string
	// HTTPClient replaces a plain &http.Client{}, e.g. in tests. It is not
	// modified. Its Timeout, if any, also bounds reading a stream, so prefer
	// Config.Timeout.
	HTTPClient *http.Client
	// Timeout bounds one Generate call, streaming included; default 120s.
	Timeout time.Duration
	// MaxRetries is how many times Tessera's retry layer may retry a
	// retryable error of this provider. The provider itself never retries:
	// it only records the value (see Provider.MaxRetries).
	MaxRetries int
}

// Provider is an llm.Provider over the Gemini API. It is safe for
// concurrent use.
type Provider struct {
	name       string
	apiKey     string // kept only to redact it from error messages
	timeout    time.Duration
	maxRetries int
	models     *genai.Models
}

var _ llm.Provider = (*Provider)(nil)

// New builds a provider from cfg, filling in the defaults. It does no I/O.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	p := &Provider{name: cfg.Name, apiKey: cfg.APIKey, timeout: cfg.Timeout, maxRetries: cfg.MaxRetries}
	if err := validate(cfg); err != nil {
		return nil, fmt.Errorf("gemini: provider %q: %w", cfg.Name, err)
	}
	client, err := genai.NewClient(context.Background(), clientConfig(cfg))
	if err != nil {
		// The SDK prints its whole config, key included, into some errors.
		return nil, fmt.Errorf("gemini: provider %q: %s", cfg.Name, p.redact(err.Error()))
	}
	p.models = client.Models
	return p, nil
}

func validate(cfg Config) error {
	switch {
	case cfg.APIKey == "":
		return errors.New("no API key")
	case cfg.Timeout < 0:
		return errors.New("negative timeout")
	case cfg.MaxRetries < 0:
		return errors.New("negative max retries")
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URL is not quoted: it may carry credentials.
			return errors.New("base URL must be an absolute http or https URL")
		}
	}
	return nil
}

// clientConfig leaves the SDK nothing to look up: with the backend, the
// key and the base URL all given, it reads no GOOGLE_*/GEMINI_*
// environment variables and never searches for default credentials.
func clientConfig(cfg Config) *genai.ClientConfig {
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &genai.ClientConfig{
		Backend:    genai.BackendGeminiAPI,
		APIKey:     cfg.APIKey,
		HTTPClient: recordingClient(cfg.HTTPClient),
		HTTPOptions: genai.HTTPOptions{
			BaseURL:    baseURL,
			APIVersion: apiVersion,
			// One attempt: retries are Tessera's job. The SDK makes one attempt
			// when RetryOptions is nil; saying so keeps it that way.
			RetryOptions: &genai.HTTPRetryOptions{Attempts: genai.Ptr[int32](1)},
		},
	}
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.name }

// MaxRetries returns Config.MaxRetries, for the caller's retry policy.
func (p *Provider) MaxRetries() int { return p.maxRetries }

// Generate runs one generateContent call, streamed when stream is non-nil.
// Errors are *llm.Error: invalid for a request that cannot be sent or that
// the API refused (a blocked prompt included), auth, not_found,
// rate_limited, quota, unavailable (5xx, network, Timeout) or cancelled
// (ctx ended). An error returned by stream is returned as is.
func (p *Provider) Generate(ctx context.Context, req *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	call, err := p.request(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	rec := &responseRecord{}
	callCtx = withRecord(callCtx, rec)
	if stream == nil {
		return p.complete(ctx, callCtx, call, rec)
	}
	return p.stream(ctx, callCtx, call, rec, stream)
}

// complete runs a non-streamed call. ctx is the caller's, callCtx carries
// the per-call timeout; classification needs both to tell them apart.
func (p *Provider) complete(ctx, callCtx context.Context, c *call, rec *responseRecord) (*llm.Response, error) {
	resp, err := p.models.GenerateContent(callCtx, c.model, c.contents, c.config)
	if err != nil {
		return nil, p.classify(ctx, callCtx, err, rec)
	}
	var a answer
	if err := a.add(resp, nil); err != nil {
		return nil, err
	}
	return p.result(&a, c.model, false)
}
