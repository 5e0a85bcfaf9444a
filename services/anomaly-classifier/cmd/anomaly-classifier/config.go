package main

import (
	"fmt"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

// Config is the service's root configuration (anomaly-classifier run). Every
// key has an environment form: consumer.batch_size → CONSUMER_BATCH_SIZE.
type Config struct {
	Kafka                  kafkax.Config         `mapstructure:"kafka"`
	Log                    obs.LogConfig         `mapstructure:"log"`
	HTTP                   HTTPConfig            `mapstructure:"http"`
	InputTopic             string                `mapstructure:"input_topic" desc:"topic of the log events to classify"`
	VerdictsTopic          string                `mapstructure:"verdicts_topic" desc:"topic of the verdicts (one per event)"`
	VerdictsEnabled        bool                  `mapstructure:"verdicts_enabled" desc:"publish a verdict for every event"`
	AlertsTopic            string                `mapstructure:"alerts_topic" desc:"topic of the alerts"`
	GroupID                string                `mapstructure:"group_id" desc:"consumer group id"`
	TopicPartitions        int                   `mapstructure:"topic_partitions" desc:"partitions of the topics created at start (existing topics are left alone)"`
	TopicReplicationFactor int                   `mapstructure:"topic_replication_factor" desc:"replication factor of the topics created at start"`
	RulesPoll              time.Duration         `mapstructure:"rules_poll" desc:"how often the rule file's mtime is checked for a reload (0: only on SIGHUP)"`
	ReplayEvents           int64                 `mapstructure:"replay_events" desc:"messages of a partition's history re-read to rebuild per-user state when the partition is assigned to this instance (0: off, its users start cold)"`
	DedupEvents            int                   `mapstructure:"dedup_events" desc:"event ids remembered per partition (at least this many, at most twice) to drop duplicates before detection (0: off)"`
	Consumer               ConsumerConfig        `mapstructure:"consumer"`
	Writer                 kafkax.WriterConfig   `mapstructure:"writer"`
	Rules                  string                `mapstructure:"rules" desc:"rule file (YAML); empty = the shipped default rules"`
	Stats                  engine.StatsConfig    `mapstructure:"stats"`
	Template               engine.TemplateConfig `mapstructure:"template"`
	EventTime              engine.TimeConfig     `mapstructure:"event_time"`
	OpenAI                 llm.Config            `mapstructure:"openai"`
}

// HTTPConfig is the ops server.
type HTTPConfig struct {
	Addr string `mapstructure:"addr" desc:"listen address of /healthz, /readyz and /metrics"`
}

// ConsumerConfig is the part of kafkax.ConsumerConfig the service exposes.
type ConsumerConfig struct {
	BatchSize         int           `mapstructure:"batch_size" desc:"max records classified per batch (one commit per batch)"`
	Linger            time.Duration `mapstructure:"linger" desc:"how long a batch waits for more records once it has one"`
	SessionTimeout    time.Duration `mapstructure:"session_timeout" desc:"group session timeout"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval" desc:"group heartbeat interval"`
	StartOffset       string        `mapstructure:"start_offset" desc:"where a new group starts: earliest or latest"`
	ShutdownGrace     time.Duration `mapstructure:"shutdown_grace" desc:"time allowed after SIGTERM to finish the batch in hand and commit"`
}

// maxDedupEvents bounds the dedup's memory: 2 × 10⁷ keys of 16 bytes per partition.
const maxDedupEvents = 10_000_000

// DefaultConfig runs on a laptop against `make kafka-up`.
func DefaultConfig() Config {
	cc := kafkax.DefaultConsumerConfig("anomaly-classifier", "logs.raw")
	ec := engine.DefaultConfig()
	return Config{
		Kafka:                  kafkax.DefaultConfig(),
		Log:                    obs.DefaultLogConfig(),
		HTTP:                   HTTPConfig{Addr: ":8082"},
		InputTopic:             "logs.raw",
		VerdictsTopic:          "logs.verdicts",
		VerdictsEnabled:        true,
		AlertsTopic:            "alerts",
		GroupID:                "anomaly-classifier",
		TopicPartitions:        6,
		TopicReplicationFactor: 1,
		RulesPoll:              5 * time.Second,
		ReplayEvents:           20000,
		DedupEvents:            service.DefaultDedupEvents,
		Consumer: ConsumerConfig{BatchSize: cc.BatchSize, Linger: cc.Linger, SessionTimeout: cc.SessionTimeout,
			HeartbeatInterval: cc.HeartbeatInterval, StartOffset: cc.StartOffset, ShutdownGrace: cc.ShutdownGrace},
		Writer:    kafkax.DefaultWriterConfig(),
		Rules:     ec.Rules,
		Stats:     ec.Stats,
		Template:  ec.Template,
		EventTime: ec.EventTime,
		OpenAI:    llm.DefaultConfig(),
	}
}

// Engine is the engine's part of the configuration.
func (c *Config) Engine() engine.Config {
	return engine.Config{Rules: c.Rules, Stats: c.Stats, Template: c.Template, EventTime: c.EventTime}
}

// ConsumerConfig is the kafkax consumer configuration.
func (c *Config) ConsumerConfig() kafkax.ConsumerConfig {
	cc := kafkax.DefaultConsumerConfig(c.GroupID, c.InputTopic)
	cc.BatchSize, cc.Linger = c.Consumer.BatchSize, c.Consumer.Linger
	cc.SessionTimeout, cc.HeartbeatInterval = c.Consumer.SessionTimeout, c.Consumer.HeartbeatInterval
	cc.StartOffset, cc.ShutdownGrace = c.Consumer.StartOffset, c.Consumer.ShutdownGrace
	return cc
}

// Validate names the key of the first invalid setting.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	for key, v := range map[string]string{"http.addr": c.HTTP.Addr, "input_topic": c.InputTopic,
		"alerts_topic": c.AlertsTopic, "group_id": c.GroupID} {
		if v == "" {
			return fmt.Errorf("%s: must not be empty", key)
		}
	}
	if c.VerdictsEnabled && c.VerdictsTopic == "" {
		return fmt.Errorf("verdicts_topic: must not be empty when verdicts_enabled")
	}
	if c.TopicPartitions < 1 {
		return fmt.Errorf("topic_partitions: %d, want ≥ 1", c.TopicPartitions)
	}
	if c.TopicReplicationFactor < 1 {
		return fmt.Errorf("topic_replication_factor: %d, want ≥ 1", c.TopicReplicationFactor)
	}
	if c.ReplayEvents < 0 {
		return fmt.Errorf("replay_events: %d, want ≥ 0", c.ReplayEvents)
	}
	if c.DedupEvents < 0 || c.DedupEvents > maxDedupEvents {
		return fmt.Errorf("dedup_events (DEDUP_EVENTS): %d, want 0 (off) to %d", c.DedupEvents, maxDedupEvents)
	}
	if c.RulesPoll < 0 {
		return fmt.Errorf("rules_poll: %s, want ≥ 0", c.RulesPoll)
	}
	if err := c.ConsumerConfig().Validate(); err != nil {
		return fmt.Errorf("consumer.%w", err)
	}
	if err := c.Writer.Validate(); err != nil {
		return fmt.Errorf("writer.%w", err)
	}
	if err := c.Engine().Validate(); err != nil {
		return err
	}
	if err := c.OpenAI.Validate(); err != nil {
		return err
	}
	return nil
}
