package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// Config is the service's configuration (pkg/config: flags > env > .env > YAML > defaults).
type Config struct {
	Kafka  kafkax.Config       `mapstructure:"kafka"`
	Writer kafkax.WriterConfig `mapstructure:"writer"`
	Log    obs.LogConfig       `mapstructure:"log"`
	HTTP   HTTPConfig          `mapstructure:"http"`

	Topic            string   `mapstructure:"topic" desc:"topic the LogEvents are written to"`
	TopicPartitions  int      `mapstructure:"topic_partitions" desc:"partitions of the topic when this service creates it"`
	TopicReplication int      `mapstructure:"topic_replication_factor" desc:"replication factor of the topic when this service creates it"`
	Sources          []string `mapstructure:"sources" desc:"sources to run, comma-separated: generator, file, stdin, http"`
	MaxLineBytes     int      `mapstructure:"max_line_bytes" desc:"longer lines are cut and marked parse.truncated"`

	Generator gensource.Config `mapstructure:"generator"`
	File      tail.Config      `mapstructure:"file"`
}

// HTTPConfig is the HTTP port: health, metrics and (with the http source) the ingest API.
type HTTPConfig struct {
	Addr           string        `mapstructure:"addr" desc:"listen address of /healthz, /readyz, /metrics and POST /v1/logs"`
	MaxBodyBytes   int64         `mapstructure:"max_body_bytes" desc:"largest accepted ingest request body in bytes (larger: 413)"`
	PublishTimeout time.Duration `mapstructure:"publish_timeout" desc:"how long an ingest request waits for Kafka before answering 503"`
}

func defaultConfig() Config {
	kc := kafkax.DefaultConfig()
	kc.ClientID = "log-producer"
	ic := ingest.DefaultConfig()
	return Config{
		Kafka:            kc,
		Writer:           kafkax.DefaultWriterConfig(),
		Log:              obs.DefaultLogConfig(),
		HTTP:             HTTPConfig{Addr: ":8081", MaxBodyBytes: ic.MaxBodyBytes, PublishTimeout: ic.PublishTimeout},
		Topic:            "logs.raw",
		TopicPartitions:  6,
		TopicReplication: 1,
		Sources:          []string{"generator", "http"},
		MaxLineBytes:     64 << 10,
		Generator:        gensource.DefaultConfig(),
		File:             tail.Config{StartAt: "end", PollInterval: 250 * time.Millisecond, BatchLines: 500},
	}
}

var knownSources = []string{"generator", "file", "stdin", "http"}

// Validate names the key of the first bad setting.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Writer.Validate(); err != nil {
		return fmt.Errorf("writer.%w", err)
	}
	if strings.TrimSpace(c.Topic) == "" {
		return errors.New("topic (TOPIC): must not be empty")
	}
	if c.TopicPartitions < 1 {
		return fmt.Errorf("topic_partitions (TOPIC_PARTITIONS): must be ≥ 1, got %d", c.TopicPartitions)
	}
	if c.TopicReplication < 1 {
		return fmt.Errorf("topic_replication_factor (TOPIC_REPLICATION_FACTOR): must be ≥ 1, got %d", c.TopicReplication)
	}
	if c.MaxLineBytes < 256 {
		return fmt.Errorf("max_line_bytes (MAX_LINE_BYTES): must be ≥ 256, got %d", c.MaxLineBytes)
	}
	if c.HTTP.Addr == "" {
		return errors.New("http.addr (HTTP_ADDR): must not be empty")
	}
	if err := (ingest.Config{MaxBodyBytes: c.HTTP.MaxBodyBytes, PublishTimeout: c.HTTP.PublishTimeout}).Validate(); err != nil {
		return err
	}
	srcs := c.sources()
	if len(srcs) == 0 {
		return fmt.Errorf("sources (SOURCES): name at least one of %s", strings.Join(knownSources, ", "))
	}
	for s := range srcs {
		known := false
		for _, k := range knownSources {
			known = known || s == k
		}
		if !known {
			return fmt.Errorf("sources (SOURCES): unknown source %q (known: %s)", s, strings.Join(knownSources, ", "))
		}
	}
	if srcs["generator"] {
		if err := c.Generator.Validate(); err != nil {
			return err
		}
	}
	if srcs["file"] {
		if err := c.File.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// sources returns the enabled sources; entries may themselves hold commas (one env value).
func (c *Config) sources() map[string]bool {
	out := map[string]bool{}
	for _, s := range c.Sources {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
				out[p] = true
			}
		}
	}
	return out
}
