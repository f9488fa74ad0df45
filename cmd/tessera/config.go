package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/openai"
)

// Config is the server's whole configuration. Precedence: flags over
// environment over the YAML file over defaults.
type Config struct {
	Addr        string `yaml:"addr"`
	DataDir     string `yaml:"data_dir"`
	DatabaseURL string `yaml:"database_url"`
	// AdminToken is a bearer token with rights over every workspace.
	AdminToken   string `yaml:"admin_token"`
	DefaultModel string `yaml:"default_model"`
	// Workers is how many executions run at once on this node.
	Workers       int           `yaml:"workers"`
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	Log           LogConfig     `yaml:"log"`
	Execution     struct {
		Timeout     time.Duration `yaml:"timeout"`
		MaxTimeout  time.Duration `yaml:"max_timeout"`
		Lease       time.Duration `yaml:"lease"`
		MaxAttempts int           `yaml:"max_attempts"`
		MaxWait     time.Duration `yaml:"max_wait"`
	} `yaml:"execution"`
	Queue struct {
		PollInterval time.Duration `yaml:"poll_interval"`
	} `yaml:"queue"`
	Events struct {
		// Retention is how long a finished execution's event log is kept;
		// 0 keeps it forever.
		Retention time.Duration `yaml:"retention"`
		// Heartbeat is the interval of SSE keep-alive comments.
		Heartbeat time.Duration `yaml:"heartbeat"`
	} `yaml:"events"`
	Limits struct {
		MaxBodyBytes int64 `yaml:"max_body_bytes"`
	} `yaml:"limits"`
	Providers struct {
		// OpenAI, Anthropic and Gemini are the providers of those names,
		// configured when a key or a base URL is set (here or in
		// OPENAI_*, ANTHROPIC_*, GEMINI_*/GOOGLE_*); Gemini always needs
		// its key.
		OpenAI    ProviderConfig `yaml:"openai"`
		Anthropic ProviderConfig `yaml:"anthropic"`
		Gemini    ProviderConfig `yaml:"gemini"`
		// Servers are more OpenAI-compatible servers, each with its own
		// name, most from a preset (ollama, vllm, groq, azure, …).
		Servers []ServerConfig `yaml:"servers"`
		Echo    struct {
			Delay time.Duration `yaml:"delay"`
		} `yaml:"echo"`
		// Retry is how failed model calls are retried (see llm.RetryPolicy).
		Retry struct {
			MaxAttempts   int           `yaml:"max_attempts"`
			BaseDelay     time.Duration `yaml:"base_delay"`
			MaxDelay      time.Duration `yaml:"max_delay"`
			MaxRetryAfter time.Duration `yaml:"max_retry_after"`
			MaxTotal      time.Duration `yaml:"max_total"`
		} `yaml:"retry"`
	} `yaml:"providers"`
	Tools struct {
		// Timeout bounds one tool call; MaxOutput what it shows the model.
		Timeout   time.Duration `yaml:"timeout"`
		MaxOutput int           `yaml:"max_output"`
		HTTP      struct {
			// Allow lists CIDRs, addresses or host names that http_request
			// and web_fetch may reach although the SSRF guard refuses them
			// (loopback, private, link-local, metadata).
			Allow            []string      `yaml:"allow"`
			Timeout          time.Duration `yaml:"timeout"`
			MaxResponseBytes int64         `yaml:"max_response_bytes"`
		} `yaml:"http"`
		WebSearch struct {
			// SearxngURL is a SearXNG instance with the JSON format enabled.
			SearxngURL string `yaml:"searxng_url"`
		} `yaml:"web_search"`
		MCP struct {
			// AllowStdio lets agents list MCP servers run as a local
			// command; AllowedCommands, when set, are the only programs
			// they may run.
			AllowStdio      bool          `yaml:"allow_stdio"`
			AllowedCommands []string      `yaml:"allowed_commands"`
			ConnectTimeout  time.Duration `yaml:"connect_timeout"`
		} `yaml:"mcp"`
	} `yaml:"tools"`
	// Models is the model table: aliases, provider models and prices.
	Models []llm.Model `yaml:"models"`
	// Agents declared as code, upserted by slug at start.
	Agents []AgentConfig `yaml:"agents"`
}

// ProviderConfig configures one provider.
type ProviderConfig struct {
	APIKey  string        `yaml:"api_key"`
	BaseURL string        `yaml:"base_url"`
	Timeout time.Duration `yaml:"timeout"`
	// MaxConcurrency bounds this provider's calls in flight on this node;
	// 0 is unbounded.
	MaxConcurrency int `yaml:"max_concurrency"`
}

// ServerConfig is an OpenAI-compatible server of the providers.servers
// list.
type ServerConfig struct {
	ProviderConfig `yaml:",inline"`
	// Name is what model specs write ("groq/llama-3.3-70b"); default the
	// preset's name.
	Name   string `yaml:"name"`
	Preset string `yaml:"preset"`
	// APIKeyEnv names the variable holding the key, so that it need not
	// be in the file; default the preset's (GROQ_API_KEY, …).
	APIKeyEnv string `yaml:"api_key_env"`
	// SystemRole and MaxTokensParam override the preset's quirks.
	SystemRole     string `yaml:"system_role"`
	MaxTokensParam string `yaml:"max_tokens_param"`
	// Deployment and APIVersion locate an Azure OpenAI deployment.
	Deployment string `yaml:"deployment"`
	APIVersion string `yaml:"api_version"`
}

// LogConfig configures the logger.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// AgentConfig is an agent declared in the config file.
type AgentConfig struct {
	WorkspaceID   int64              `yaml:"workspace_id"`
	Slug          string             `yaml:"slug"`
	Title         string             `yaml:"title"`
	Description   string             `yaml:"description"`
	Type          string             `yaml:"type"`
	Instructions  string             `yaml:"instructions"`
	Prompt        string             `yaml:"prompt"`
	Questions     []tessera.Question `yaml:"questions"`
	Model         string             `yaml:"model"`
	Temperature   *float64           `yaml:"temperature"`
	Tools         []string           `yaml:"tools"`
	MaxIterations int                `yaml:"max_iterations"`
	// HTTPTools, MCPServers and OutputSchema are written in YAML with the
	// keys of the JSON API (tessera.HTTPTool, tessera.MCPServer, a JSON
	// Schema).
	FallbackModels []string         `yaml:"fallback_models"`
	HTTPTools      []map[string]any `yaml:"http_tools"`
	MCPServers     []map[string]any `yaml:"mcp_servers"`
	OutputSchema   map[string]any   `yaml:"output_schema"`
}

func defaultConfig() Config {
	var c Config
	c.Addr = "127.0.0.1:8080"
	c.DataDir = "./tessera-data"
	c.Workers = 16
	c.ShutdownGrace = 30 * time.Second
	c.Log = LogConfig{Level: "info", Format: "text"}
	c.Execution.Timeout = 10 * time.Minute
	c.Execution.MaxTimeout = time.Hour
	c.Events.Retention = 7 * 24 * time.Hour
	c.Events.Heartbeat = 15 * time.Second
	c.Execution.Lease = 30 * time.Second
	c.Execution.MaxAttempts = 3
	c.Execution.MaxWait = 100 * time.Second
	c.Queue.PollInterval = time.Second
	c.Limits.MaxBodyBytes = 1 << 20
	c.Providers.OpenAI.Timeout = 120 * time.Second
	c.Providers.Anthropic.Timeout = 120 * time.Second
	c.Providers.Gemini.Timeout = 120 * time.Second
	return c
}

// bindFlags declares the serve flags; only flags the user set override.
func bindFlags(fs *pflag.FlagSet) {
	fs.String("addr", "", "listen address (TESSERA_ADDR, default 127.0.0.1:8080)")
	fs.String("data-dir", "", "data directory for the embedded database (TESSERA_DATA_DIR, default ./tessera-data)")
	fs.String("database-url", "", "database URL; empty means embedded SQLite (TESSERA_DATABASE_URL)")
	fs.String("config", "", "YAML config file (TESSERA_CONFIG)")
	fs.Int("workers", 0, "executions run at once on this node (TESSERA_WORKERS, default 16)")
	fs.String("log-level", "", "debug, info, warn or error (TESSERA_LOG_LEVEL)")
}

// loadConfig merges defaults, the config file, the environment and flags.
func loadConfig(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	path := flagOrEnv(fs, "config", getenv("TESSERA_CONFIG"))
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return c, err
	}
	c.Addr = flagOrEnv(fs, "addr", c.Addr)
	c.DataDir = flagOrEnv(fs, "data-dir", c.DataDir)
	c.DatabaseURL = flagOrEnv(fs, "database-url", c.DatabaseURL)
	c.Log.Level = flagOrEnv(fs, "log-level", c.Log.Level)
	if fs.Changed("workers") {
		c.Workers, _ = fs.GetInt("workers")
	}
	return c, c.validate()
}

func flagOrEnv(fs *pflag.FlagSet, name, fallback string) string {
	if fs.Changed(name) {
		v, _ := fs.GetString(name)
		return v
	}
	return fallback
}

// applyEnv reads the TESSERA_* and provider variables.
func applyEnv(c *Config, getenv func(string) string) error {
	str := func(dst *string, name string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str(&c.Addr, "TESSERA_ADDR")
	str(&c.DataDir, "TESSERA_DATA_DIR")
	str(&c.DatabaseURL, "TESSERA_DATABASE_URL")
	str(&c.AdminToken, "TESSERA_ADMIN_TOKEN")
	str(&c.DefaultModel, "TESSERA_DEFAULT_MODEL")
	str(&c.Log.Level, "TESSERA_LOG_LEVEL")
	str(&c.Log.Format, "TESSERA_LOG_FORMAT")
	str(&c.Providers.OpenAI.APIKey, "OPENAI_API_KEY")
	str(&c.Providers.OpenAI.BaseURL, "OPENAI_BASE_URL")
	str(&c.Providers.Anthropic.APIKey, "ANTHROPIC_API_KEY")
	str(&c.Providers.Anthropic.BaseURL, "ANTHROPIC_BASE_URL")
	str(&c.Providers.Gemini.APIKey, "GEMINI_API_KEY")
	str(&c.Providers.Gemini.APIKey, "GOOGLE_API_KEY") // wins, as in Google's own SDK
	str(&c.Providers.Gemini.BaseURL, "GOOGLE_GEMINI_BASE_URL")
	str(&c.Tools.WebSearch.SearxngURL, "TESSERA_SEARXNG_URL")
	for i := range c.Providers.Servers {
		sc := &c.Providers.Servers[i]
		env := sc.APIKeyEnv
		if p, ok := openai.LookupPreset(sc.Preset); ok && env == "" {
			env = p.KeyEnv
		}
		if sc.APIKey == "" && env != "" {
			sc.APIKey = getenv(env)
		}
	}
	if v := getenv("TESSERA_MCP_ALLOWED_COMMANDS"); v != "" {
		c.Tools.MCP.AllowedCommands = strings.Split(v, ",")
	}
	if v := getenv("TESSERA_TOOLS_HTTP_ALLOW"); v != "" {
		c.Tools.HTTP.Allow = strings.Split(v, ",")
	}
	var errs []error
	num := func(dst *int, name string) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: not an integer: %q", name, v))
			}
			*dst = n
		}
	}
	dur := func(dst *time.Duration, name string) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: not a duration (such as 30s): %q", name, v))
			}
			*dst = d
		}
	}
	num(&c.Workers, "TESSERA_WORKERS")
	num(&c.Execution.MaxAttempts, "TESSERA_MAX_ATTEMPTS")
	dur(&c.ShutdownGrace, "TESSERA_SHUTDOWN_GRACE")
	dur(&c.Execution.Timeout, "TESSERA_EXECUTION_TIMEOUT")
	dur(&c.Execution.MaxTimeout, "TESSERA_MAX_EXECUTION_TIMEOUT")
	dur(&c.Events.Retention, "TESSERA_EVENT_RETENTION")
	dur(&c.Events.Heartbeat, "TESSERA_SSE_HEARTBEAT")
	dur(&c.Execution.Lease, "TESSERA_LEASE")
	dur(&c.Execution.MaxWait, "TESSERA_MAX_WAIT")
	dur(&c.Queue.PollInterval, "TESSERA_QUEUE_POLL_INTERVAL")
	dur(&c.Providers.Echo.Delay, "TESSERA_ECHO_DELAY")
	dur(&c.Tools.Timeout, "TESSERA_TOOL_TIMEOUT")
	if v := getenv("TESSERA_MCP_ALLOW_STDIO"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("TESSERA_MCP_ALLOW_STDIO: not a boolean (true or false): %q", v))
		}
		c.Tools.MCP.AllowStdio = b
	}
	if v := getenv("TESSERA_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("TESSERA_MAX_BODY_BYTES: not an integer: %q", v))
		}
		c.Limits.MaxBodyBytes = n
	}
	return errors.Join(errs...)
}

func (c *Config) validate() error {
	var errs []error
	if c.Workers < 1 || c.Workers > 10_000 {
		errs = append(errs, fmt.Errorf("workers must be between 1 and 10000, not %d", c.Workers))
	}
	if c.Execution.Lease < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("execution.lease must be at least 100ms"))
	}
	if c.Execution.Timeout <= 0 || c.Execution.MaxWait <= 0 || c.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("execution.timeout and execution.max_wait must be positive"))
	}
	if c.Execution.MaxTimeout < c.Execution.Timeout {
		errs = append(errs, fmt.Errorf("execution.max_timeout (%s) must be at least execution.timeout (%s)", c.Execution.MaxTimeout, c.Execution.Timeout))
	}
	if c.Events.Retention < 0 || c.Events.Heartbeat <= 0 {
		errs = append(errs, fmt.Errorf("events.retention must not be negative and events.heartbeat must be positive"))
	}
	if c.Execution.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("execution.max_attempts must be at least 1"))
	}
	if c.Limits.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Errorf("limits.max_body_bytes must be at least 1024"))
	}
	if c.DatabaseURL != "" && !c.isPostgres() && !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "file:") {
		errs = append(errs, fmt.Errorf("database_url %q: use postgres://… (or postgresql://…), sqlite:PATH, or leave it empty for the embedded database", redactURL(c.DatabaseURL)))
	}
	for i, a := range c.Agents {
		if a.Slug == "" || tessera.Slugify(a.Slug) != a.Slug {
			errs = append(errs, fmt.Errorf("agents[%d]: slug %q must be lowercase letters, digits and dashes", i, a.Slug))
		}
	}
	return errors.Join(errs...)
}

// isPostgres reports whether the database URL names PostgreSQL.
func (c *Config) isPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// sqlitePath is the database file: the URL's path when given, else the
// data dir's tessera.db.
func (c *Config) sqlitePath() string {
	if u := c.DatabaseURL; u != "" {
		u = strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "file:")
		return strings.TrimPrefix(u, "//")
	}
	return filepath.Join(c.DataDir, "tessera.db")
}

// redactURL hides a password in a database URL for messages.
func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at > 0 {
		if scheme := strings.Index(s, "://"); scheme > 0 && scheme < at {
			return s[:scheme+3] + "…" + s[at:]
		}
	}
	return s
}

// declaredTools sets a's HTTP tools, MCP servers and output schema from the
// YAML, through JSON: they are written with the JSON API's keys.
func (ac *AgentConfig) declaredTools(a *tessera.Agent) error {
	for _, f := range []struct {
		name string
		from any
		set  bool
		to   any
	}{
		{"http_tools", ac.HTTPTools, ac.HTTPTools != nil, &a.HTTPTools},
		{"mcp_servers", ac.MCPServers, ac.MCPServers != nil, &a.MCPServers},
	} {
		if !f.set {
			continue
		}
		b, err := json.Marshal(f.from)
		if err == nil {
			err = json.Unmarshal(b, f.to)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if ac.OutputSchema != nil {
		b, err := json.Marshal(ac.OutputSchema)
		if err != nil {
			return fmt.Errorf("output_schema: %w", err)
		}
		a.OutputSchema = b
	}
	return nil
}
