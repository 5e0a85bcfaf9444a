package llm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
)

// Response formats the stage can ask for.
const (
	// FormatJSONSchema asks for structured output validated by the server against
	// the answer schema (OpenAI, Azure OpenAI, vLLM, Ollama ≥ 0.5, llama.cpp).
	FormatJSONSchema = "json_schema"
	// FormatJSONObject only asks for "some JSON object", for servers that do not
	// support json_schema. The answer is validated just as strictly by the stage.
	FormatJSONObject = "json_object"
)

// Cache keys.
const (
	// CacheKeyTemplate shares an answer among all events of a template.
	CacheKeyTemplate = "template"
	// CacheKeyTemplateTarget shares it only among events of a template with the
	// same action and target (file, command), for coarse templates.
	CacheKeyTemplateTarget = "template_target"
)

// API types.
const (
	APITypeOpenAI = "openai"
	APITypeAzure  = "azure"
)

// Config of the LLM stage. The service embeds it under the key "openai", so every
// field has the environment form OPENAI_<FIELD> (OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_MODEL, OPENAI_BATCH_SIZE, …) and the flag --openai-<field>.
type Config struct {
	APIKey     string `mapstructure:"api_key" desc:"API key (secret); set it in the environment or .env, never as a flag; empty turns the LLM stage off"`
	BaseURL    string `mapstructure:"base_url" desc:"OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (Ollama); empty = api.openai.com"`
	Model      string `mapstructure:"model" desc:"model (Azure: deployment) name"`
	APIType    string `mapstructure:"api_type" desc:"openai (also Ollama, vLLM, llama.cpp) or azure"`
	APIVersion string `mapstructure:"api_version" desc:"Azure OpenAI API version"`

	// When it is asked.
	UncertainLow   float64       `mapstructure:"uncertain_low" desc:"events whose fused score is in [uncertain_low, uncertain_high] get a second opinion"`
	UncertainHigh  float64       `mapstructure:"uncertain_high" desc:"upper end of the uncertain band"`
	NewTemplates   bool          `mapstructure:"new_templates" desc:"ask about the first occurrence of a new template"`
	Summaries      bool          `mapstructure:"summaries" desc:"add the LLM's one-paragraph summary to alerts of medium severity and above (Alert.llm_summary)"`
	SummaryTimeout time.Duration `mapstructure:"summary_timeout" desc:"how long a batch's alerts wait for their summaries; past it they go out without"`

	// Batching and caching.
	BatchSize int           `mapstructure:"batch_size" desc:"events per request"`
	Linger    time.Duration `mapstructure:"linger" desc:"how long a partial batch waits for more events"`
	QueueSize int           `mapstructure:"queue_size" desc:"candidates waiting for a request; beyond it they are dropped (counted), never waited for"`
	CacheSize int           `mapstructure:"cache_size" desc:"answers kept per template (LRU)"`
	CacheTTL  time.Duration `mapstructure:"cache_ttl" desc:"how long a template's answer is reused"`
	CacheKey  string        `mapstructure:"cache_key" desc:"template (one answer per template) or template_target (per template, action and target)"`

	// Budget and resilience.
	MaxRequestsPerMinute int           `mapstructure:"max_requests_per_minute" desc:"request budget per sliding minute (0 = unlimited)"`
	MaxTokensPerHour     int           `mapstructure:"max_tokens_per_hour" desc:"token budget (prompt + completion) per sliding hour (0 = unlimited)"`
	MaxOutputTokens      int           `mapstructure:"max_output_tokens" desc:"max_tokens of one answer"`
	MaxEventBytes        int           `mapstructure:"max_event_bytes" desc:"a log line is cut to this many bytes in the prompt"`
	Concurrency          int           `mapstructure:"concurrency" desc:"requests in flight at once"`
	Timeout              time.Duration `mapstructure:"timeout" desc:"deadline of one HTTP attempt"`
	MaxRetries           int           `mapstructure:"max_retries" desc:"retries after a 429, 5xx or network error"`
	RetryBackoff         time.Duration `mapstructure:"retry_backoff" desc:"first retry delay (> 0), doubled per retry; a longer Retry-After wins"`
	MaxRetryWait         time.Duration `mapstructure:"max_retry_wait" desc:"a Retry-After longer than this is not waited for: the call fails as rate_limited"`
	BreakerFailures      int           `mapstructure:"breaker_failures" desc:"consecutive failed calls that open the circuit breaker"`
	BreakerCooldown      time.Duration `mapstructure:"breaker_cooldown" desc:"how long the breaker stays open before one probe call"`
	ResponseFormat       string        `mapstructure:"response_format" desc:"json_schema, or json_object for servers without structured outputs"`
}

// DefaultConfig is the stage off (no key) with budget knobs a laptop or a small
// production deployment can live with.
func DefaultConfig() Config {
	return Config{
		Model:                "gpt-4o-mini",
		APIType:              APITypeOpenAI,
		APIVersion:           "2024-08-01-preview",
		UncertainLow:         0.35,
		UncertainHigh:        0.65,
		NewTemplates:         true,
		Summaries:            false,
		SummaryTimeout:       5 * time.Second,
		BatchSize:            16,
		Linger:               500 * time.Millisecond,
		QueueSize:            1024,
		CacheSize:            4096,
		CacheTTL:             time.Hour,
		CacheKey:             CacheKeyTemplateTarget,
		MaxRequestsPerMinute: 60,
		MaxTokensPerHour:     500_000,
		MaxOutputTokens:      2048,
		MaxEventBytes:        1024,
		Concurrency:          2,
		Timeout:              20 * time.Second,
		MaxRetries:           2,
		RetryBackoff:         time.Second,
		MaxRetryWait:         30 * time.Second,
		BreakerFailures:      5,
		BreakerCooldown:      30 * time.Second,
		ResponseFormat:       FormatJSONSchema,
	}
}

// Enabled reports whether the stage will call a model.
func (c Config) Enabled() bool { return c.APIKey != "" }

// Validate names the offending key as the service reads it, "openai.<key>
// (OPENAI_<KEY>): message". Knobs are checked even when the stage is off, so a typo
// fails at start and not on the day a key is added. A bad base URL is shown with its
// credentials and query redacted.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("openai.%s (OPENAI_%s): %s", key, strings.ToUpper(key), fmt.Sprintf(format, args...)))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base_url", "must be an http(s) URL, got %q", config.RedactURL(c.BaseURL))
		}
	}
	if c.Enabled() && strings.TrimSpace(c.Model) == "" {
		bad("model", "must not be empty when openai.api_key is set")
	}
	switch c.APIType {
	case APITypeOpenAI:
	case APITypeAzure:
		if c.Enabled() && c.BaseURL == "" {
			bad("base_url", "is required with openai.api_type=azure")
		}
	default:
		bad("api_type", "must be %q or %q, got %q", APITypeOpenAI, APITypeAzure, c.APIType)
	}
	if c.UncertainLow < 0 || c.UncertainLow > 1 {
		bad("uncertain_low", "must be in [0, 1], got %v", c.UncertainLow)
	}
	if c.UncertainHigh < 0 || c.UncertainHigh > 1 {
		bad("uncertain_high", "must be in [0, 1], got %v", c.UncertainHigh)
	} else if c.UncertainHigh < c.UncertainLow {
		bad("uncertain_high", "must be ≥ openai.uncertain_low (%v), got %v", c.UncertainLow, c.UncertainHigh)
	}
	positive := []struct {
		key      string
		v, limit int
	}{
		{"batch_size", c.BatchSize, 100},
		{"queue_size", c.QueueSize, 1 << 20},
		{"cache_size", c.CacheSize, 1 << 24},
		{"max_output_tokens", c.MaxOutputTokens, 1 << 20},
		{"max_event_bytes", c.MaxEventBytes, 1 << 16},
		{"concurrency", c.Concurrency, 64},
		{"breaker_failures", c.BreakerFailures, 1 << 16},
	}
	for _, p := range positive {
		if p.v < 1 || p.v > p.limit {
			bad(p.key, "must be between 1 and %d, got %d", p.limit, p.v)
		}
	}
	nonNegative := []struct {
		key string
		v   int
	}{
		{"max_requests_per_minute", c.MaxRequestsPerMinute},
		{"max_tokens_per_hour", c.MaxTokensPerHour},
		{"max_retries", c.MaxRetries},
	}
	for _, p := range nonNegative {
		if p.v < 0 {
			bad(p.key, "must not be negative, got %d", p.v)
		}
	}
	if c.MaxTokensPerHour > 0 && c.MaxOutputTokens > 0 && c.MaxTokensPerHour < 2*c.MaxOutputTokens {
		bad("max_tokens_per_hour", "must allow at least one request: ≥ 2 × openai.max_output_tokens (%d), got %d", 2*c.MaxOutputTokens, c.MaxTokensPerHour)
	}
	if c.MaxRetries > 10 {
		bad("max_retries", "must be at most 10, got %d", c.MaxRetries)
	}
	durations := []struct {
		key      string
		v        time.Duration
		positive bool
	}{
		{"linger", c.Linger, false},
		{"cache_ttl", c.CacheTTL, true},
		{"timeout", c.Timeout, true},
		{"retry_backoff", c.RetryBackoff, true},
		{"max_retry_wait", c.MaxRetryWait, false},
		{"breaker_cooldown", c.BreakerCooldown, true},
		{"summary_timeout", c.SummaryTimeout, true},
	}
	for _, d := range durations {
		if d.v < 0 || (d.positive && d.v == 0) {
			want := "must not be negative"
			if d.positive {
				want = "must be positive"
			}
			bad(d.key, "%s, got %s", want, d.v)
		}
	}
	switch c.CacheKey {
	case CacheKeyTemplate, CacheKeyTemplateTarget:
	default:
		bad("cache_key", "must be %q or %q, got %q", CacheKeyTemplate, CacheKeyTemplateTarget, c.CacheKey)
	}
	switch c.ResponseFormat {
	case FormatJSONSchema, FormatJSONObject:
	default:
		bad("response_format", "must be %q or %q, got %q", FormatJSONSchema, FormatJSONObject, c.ResponseFormat)
	}
	return errors.Join(errs...)
}

// Describe is the one line the service logs at start: whether the stage is on,
// against which endpoint and model, and with which budget. It never contains the key.
func (c Config) Describe() string {
	if !c.Enabled() {
		return "llm stage off (OPENAI_API_KEY not set): rules, statistics and templates decide alone"
	}
	endpoint := c.BaseURL
	if endpoint == "" {
		endpoint = "https://api.openai.com/v1"
	}
	endpoint = config.RedactURL(endpoint) // never log credentials embedded in the URL
	var when []string
	when = append(when, fmt.Sprintf("fused score in [%.2f, %.2f]", c.UncertainLow, c.UncertainHigh))
	if c.NewTemplates {
		when = append(when, "first occurrence of a template")
	}
	if c.Summaries {
		when = append(when, fmt.Sprintf("summaries of medium+ alerts (waited ≤ %s)", c.SummaryTimeout))
	}
	budget := func(n int, unit string) string {
		if n == 0 {
			return "unlimited " + unit
		}
		return fmt.Sprintf("%d %s", n, unit)
	}
	return fmt.Sprintf("llm stage on: model %s at %s (%s, %s); asked for %s; batch %d, linger %s; budget %s, %s; concurrency %d, timeout %s, %d retries, breaker after %d failures for %s",
		c.Model, endpoint, c.APIType, c.ResponseFormat, strings.Join(when, ", "),
		c.BatchSize, c.Linger, budget(c.MaxRequestsPerMinute, "requests/min"), budget(c.MaxTokensPerHour, "tokens/hour"),
		c.Concurrency, c.Timeout, c.MaxRetries, c.BreakerFailures, c.BreakerCooldown)
}
