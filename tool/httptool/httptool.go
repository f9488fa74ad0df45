package httptool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// Config are server-wide settings.
type Config struct {
	// Client sends the requests; it must be SSRF-guarded by the caller
	// (builtin.NewHTTPClient). Required.
	Client *http.Client
	// Timeout bounds a call when the tool sets no TimeoutSeconds. Default 15s.
	Timeout time.Duration
	// MaxResponseBytes caps the body shown to the model; a longer one is
	// cut and Result.Truncated set. Default 1 MiB.
	MaxResponseBytes int64
}

// Defaults of Config.
const (
	DefaultTimeout          = 15 * time.Second
	DefaultMaxResponseBytes = 1 << 20
)

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return c
}

func (c Config) validate() error {
	if c.Client == nil {
		return tessera.Errorf(tessera.EINVALID, "httptool: Config.Client is required")
	}
	return nil
}

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead}

// errTimeout is the cause of the tool's own deadline.
var errTimeout = errors.New("http tool timeout")

type httpTool struct {
	name, description string
	params            json.RawMessage
	required          []string
	method            string
	url               template
	body              template // nil when the tool has no Body template
	headers           []header
	secrets           map[string]string // only the ones the templates use
	scrub             *scrubber
	client            *http.Client
	timeout           time.Duration
	maxBytes          int64
}

type header struct {
	name  string
	value template
}

// New returns the tool for def. secrets are the instance's credentials. It
// returns an EINVALID error, naming the tool, when a template uses a secret
// that secrets lacks (never a value), a secret where none may be, an
// argument that def.Parameters does not declare (when it declares
// properties), or a malformed template, method or schema.
func New(def tessera.HTTPTool, secrets map[string]string, cfg Config) (tool.Tool, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &httpTool{name: def.Name, description: def.Description, timeout: cfg.Timeout, maxBytes: cfg.MaxResponseBytes}
	if def.TimeoutSeconds > 0 {
		t.timeout = time.Duration(def.TimeoutSeconds) * time.Second
	}
	if err := t.parse(def, secrets); err != nil {
		return nil, tessera.Errorf(tessera.EINVALID, "HTTP tool %q: %v", def.Name, err)
	}
	t.client = dropSecretHeadersOnRedirect(cfg.Client, t.secretHeaders())
	return t, nil
}

// parse compiles def's templates and binds its secrets and schema.
func (t *httpTool) parse(def tessera.HTTPTool, secrets map[string]string) error {
	var err error
	if t.method, err = method(def.Method, def.Body); err != nil {
		return err
	}
	if t.url, err = parseURLTemplate(def.URL); err != nil {
		return err
	}
	if t.body, err = parseBodyTemplate(def.Body, jsonContentType(def.Headers)); err != nil {
		return err
	}
	if t.headers, err = parseHeaders(def.Headers); err != nil {
		return err
	}
	if err := t.bindSecrets(secrets); err != nil {
		return err
	}
	return t.bindSchema(def.Parameters)
}

func method(m, body string) (string, error) {
	m = strings.ToUpper(strings.TrimSpace(m))
	if m == "" {
		m = http.MethodGet
	}
	if !slices.Contains(methods, m) {
		return "", fmt.Errorf("the method must be one of %s", strings.Join(methods, ", "))
	}
	if body != "" && (m == http.MethodGet || m == http.MethodHead) {
		return "", fmt.Errorf("a %s request has no body", m)
	}
	return m, nil
}

func (t *httpTool) Name() string                { return t.name }
func (t *httpTool) Description() string         { return t.description }
func (t *httpTool) Parameters() json.RawMessage { return t.params }

// Call sends the request built from args and returns the status line and
// the body, whatever the status. Its errors, written for the model, are
// for arguments it cannot use and for requests that got no response.
func (t *httpTool) Call(ctx context.Context, raw json.RawMessage) (tool.Result, error) {
	args, err := decodeArgs(raw)
	if err != nil {
		return tool.Result{}, err
	}
	if err := t.checkRequired(args); err != nil {
		return tool.Result{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, t.timeout, errTimeout)
	defer cancel()
	req, err := t.newRequest(ctx, args)
	if err != nil {
		return tool.Result{}, t.scrub.error(err)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return tool.Result{}, t.requestError(ctx, req, err)
	}
	defer resp.Body.Close()
	content, truncated, err := t.response(resp)
	if err != nil {
		return tool.Result{}, t.requestError(ctx, req, err)
	}
	return tool.Result{Content: content, Truncated: truncated}, nil
}

func (t *httpTool) checkRequired(args arguments) error {
	var missing []string
	for _, name := range t.required {
		if _, ok := args[name]; !ok {
			missing = append(missing, name)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("missing required argument %s", missing[0])
	default:
		return fmt.Errorf("missing required arguments %s", strings.Join(missing, ", "))
	}
}
