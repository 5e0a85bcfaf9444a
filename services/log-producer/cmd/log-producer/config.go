package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/service"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// Config is the service's configuration (pkg/config: flags > env > .env > YAML > defaults).
type Config struct {
	Kafka  kafkax.Config       `mapstructure:"kafka"`
	Writer kafkax.WriterConfig `mapstructure:"writer"`
	Log    obs.LogConfig       `mapstructure:"log"`
	HTTP   obs.HTTPConfig      `mapstructure:"http"`
	Ingest ingest.Config       `mapstructure:"ingest"`

	Topic            string   `mapstructure:"topic" desc:"topic the LogEvents are written to"`
	TopicPartitions  int      `mapstructure:"topic_partitions" desc:"partitions of the topic when this service creates it"`
	TopicReplication int      `mapstructure:"topic_replication_factor" desc:"replication factor of the topic when this service creates it"`
	Sources          []string `mapstructure:"sources" desc:"sources to run, comma-separated: generator, file, stdin, http"`
	MaxLineBytes     int      `mapstructure:"max_line_bytes" desc:"longer lines are cut and marked parse.truncated"`

	Generator gensource.Config `mapstructure:"generator"`
	File      tail.Config      `mapstructure:"file"`
}

func defaultConfig() Config {
	kc := kafkax.DefaultConfig()
	kc.ClientID = "log-producer"
	wc := kafkax.DefaultWriterConfig()
	// A stdin batch (12,000 lines) spreads about 2,000 events over each of 6 partitions:
	// one request each, bounded by batch_bytes, halves the broker's CPU against 1,000.
	wc.BatchSize = 10000
	return Config{
		Kafka:            kc,
		Writer:           wc,
		Log:              obs.DefaultLogConfig(),
		HTTP:             obs.HTTPConfig{Addr: ":9081"},
		Ingest:           ingest.DefaultConfig(),
		Topic:            "logs.raw",
		TopicPartitions:  6,
		TopicReplication: 1,
		Sources:          []string{"generator", "http"},
		MaxLineBytes:     64 << 10,
		Generator:        gensource.DefaultConfig(),
		File:             tail.Config{StartAt: "end", PollInterval: 250 * time.Millisecond, BatchLines: 500},
	}
}

// Validate names the key of the first bad setting: "key (ENV_NAME): message".
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Writer.Validate(); err != nil {
		return config.Keyed("writer", err)
	}
	if err := c.HTTP.Validate(); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(c.Topic) == "":
		return errors.New("topic (TOPIC): must not be empty")
	case c.TopicPartitions < 1:
		return fmt.Errorf("topic_partitions (TOPIC_PARTITIONS): must be ≥ 1, got %d", c.TopicPartitions)
	case c.TopicReplication < 1:
		return fmt.Errorf("topic_replication_factor (TOPIC_REPLICATION_FACTOR): must be ≥ 1, got %d", c.TopicReplication)
	case c.MaxLineBytes < 256:
		return fmt.Errorf("max_line_bytes (MAX_LINE_BYTES): must be ≥ 256, got %d", c.MaxLineBytes)
	}
	srcs := c.sources()
	if len(srcs) == 0 {
		return fmt.Errorf("sources (SOURCES): name at least one of %s", strings.Join(service.Known(), ", "))
	}
	for s := range srcs {
		if !slices.Contains(service.Known(), s) {
			return fmt.Errorf("sources (SOURCES): unknown source %q (known: %s)", s, strings.Join(service.Known(), ", "))
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
	if srcs["http"] {
		if err := c.Ingest.Validate(); err != nil {
			return err
		}
		if c.Ingest.Addr == c.HTTP.Addr {
			return fmt.Errorf("ingest.addr (INGEST_ADDR): %s is the ops port http.addr (HTTP_ADDR); the ingest API needs its own", c.Ingest.Addr)
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

// options are what service.Run needs.
func (c *Config) options(stdin io.Reader) service.Options {
	var names []string
	for n := range c.sources() {
		names = append(names, n)
	}
	return service.Options{
		Kafka:        c.Kafka,
		Writer:       c.Writer,
		Topic:        kafkax.TopicSpec{Name: c.Topic, Partitions: c.TopicPartitions, ReplicationFactor: c.TopicReplication},
		MaxLineBytes: c.MaxLineBytes,
		HTTP:         c.HTTP,
		Sources:      names,
		Generator:    c.Generator,
		File:         c.File,
		Ingest:       c.Ingest,
		Stdin:        stdin,
	}
}
