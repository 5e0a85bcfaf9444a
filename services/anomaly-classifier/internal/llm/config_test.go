package llm

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValidAndOff(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if c.Enabled() || c.Model != "gpt-4o-mini" {
		t.Errorf("default: enabled %v model %q", c.Enabled(), c.Model)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		key  string
	}{
		{"band below 0", func(c *Config) { c.UncertainLow = -0.1 }, "openai.uncertain_low"},
		{"band inverted", func(c *Config) { c.UncertainLow, c.UncertainHigh = 0.7, 0.3 }, "openai.uncertain_high"},
		{"batch 0", func(c *Config) { c.BatchSize = 0 }, "openai.batch_size"},
		{"batch too big", func(c *Config) { c.BatchSize = 1000 }, "openai.batch_size"},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }, "openai.concurrency"},
		{"negative budget", func(c *Config) { c.MaxTokensPerHour = -1 }, "openai.max_tokens_per_hour"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "openai.timeout"},
		{"negative linger", func(c *Config) { c.Linger = -time.Second }, "openai.linger"},
		{"zero ttl", func(c *Config) { c.CacheTTL = 0 }, "openai.cache_ttl"},
		{"bad url", func(c *Config) { c.BaseURL = "localhost:11434" }, "openai.base_url"},
		{"token budget below one request", func(c *Config) { c.MaxTokensPerHour, c.MaxOutputTokens = 1000, 1000 }, "openai.max_tokens_per_hour"},
		{"bad cache key", func(c *Config) { c.CacheKey = "event" }, "openai.cache_key"},
		{"bad format", func(c *Config) { c.ResponseFormat = "yaml" }, "openai.response_format"},
		{"bad api type", func(c *Config) { c.APIType = "bedrock" }, "openai.api_type"},
		{"azure without url", func(c *Config) { c.APIKey, c.APIType = "k", APITypeAzure }, "openai.base_url"},
		{"key without model", func(c *Config) { c.APIKey, c.Model = "k", " " }, "openai.model"},
		{"too many retries", func(c *Config) { c.MaxRetries = 11 }, "openai.max_retries"},
		{"zero backoff", func(c *Config) { c.RetryBackoff = 0 }, "openai.retry_backoff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mut(&c)
			err := c.Validate()
			want := tt.key + " (" + strings.ToUpper(strings.ReplaceAll(tt.key, ".", "_")) + "): "
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v, want an error starting %q", err, want)
			}
			if _, nerr := New(c, nil, nil, nil); nerr == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// Issue #10 item 11: an unparsable OPENAI_BASE_URL was echoed with its password.
func TestValidateNeverEchoesURLSecrets(t *testing.T) {
	for _, u := range []string{
		"http://admin:hunter2-secret@llm.internal:bad-port/v1",         // does not parse
		"https://admin:hunter2-secret@llm.internal%zz/v1",              // does not parse
		"ftp://admin:hunter2-secret@llm.internal/v1?key=sk-secret-key", // parses, wrong scheme
		"hunter2-secret@llm.internal/v1?key=sk-secret-key",             // no scheme
		"http://tok:en/hunter2-secret@llm.internal/v1",                 // a "/" in the password
	} {
		c := DefaultConfig()
		c.BaseURL = u
		err := c.Validate()
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		for _, secret := range []string{"hunter2-secret", "sk-secret-key", "admin"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error for a bad base URL echoes %q: %v", secret, err)
			}
		}
		if !strings.Contains(err.Error(), "llm.internal") || !strings.Contains(err.Error(), "openai.base_url (OPENAI_BASE_URL): ") {
			t.Errorf("error does not say which URL and key: %v", err)
		}
	}
}

func TestRedactError(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "http://tok-user@llm.internal/v1/chat/completions?api-key=sk-secret", Err: errors.New("connection refused")}
	got := redactError(fmt.Errorf("call: %w", err))
	if strings.Contains(got, "tok-user") || strings.Contains(got, "sk-secret") || !strings.Contains(got, "llm.internal/v1/chat/completions") {
		t.Errorf("redactError = %q", got)
	}
}

func TestDescribeNeverLeaksSecrets(t *testing.T) {
	c := DefaultConfig()
	c.APIKey = "sk-very-secret"
	c.BaseURL = "https://user:pass@llm.internal.example/v1?api-key=sk-very-secret"
	d := c.Describe()
	for _, secret := range []string{"sk-very-secret", "pass"} {
		if strings.Contains(d, secret) {
			t.Errorf("Describe leaks %q: %s", secret, d)
		}
	}
	for _, want := range []string{"llm stage on", "gpt-4o-mini", "llm.internal.example", "60 requests/min", "500000 tokens/hour", "[0.35, 0.65]"} {
		if !strings.Contains(d, want) {
			t.Errorf("Describe lacks %q: %s", want, d)
		}
	}
	if off := DefaultConfig().Describe(); !strings.Contains(off, "off") || !strings.Contains(off, "OPENAI_API_KEY") {
		t.Errorf("off description = %q", off)
	}
}

// envNames are the environment variables of every key under "openai".
func envNames() []string {
	var names []string
	rt := reflect.TypeFor[Config]()
	for i := range rt.NumField() {
		names = append(names, "OPENAI_"+strings.ToUpper(rt.Field(i).Tag.Get("mapstructure")))
	}
	return names
}

// TestDocsListEveryKey keeps docs/llm.md in step with the Config struct.
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/llm.md")
	if err != nil {
		t.Fatalf("read docs/llm.md: %v", err)
	}
	for _, env := range envNames() {
		if !strings.Contains(string(doc), "`"+env+"`") {
			t.Errorf("docs/llm.md does not document %s", env)
		}
	}
	for _, name := range outcomeNames {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/llm.md does not document outcome %s", name)
		}
	}
}
