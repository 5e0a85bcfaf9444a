package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
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
	HTTP                   obs.HTTPConfig        `mapstructure:"http"`
	InputTopic             string                `mapstructure:"input_topic" desc:"topic of the log events to classify"`
	VerdictsTopic          string                `mapstructure:"verdicts_topic" desc:"topic of the verdicts"`
	Verdicts               string                `mapstructure:"verdicts" desc:"which events get a verdict on verdicts_topic: all, anomalous or off"`
	VerdictEvent           string                `mapstructure:"verdict_event" desc:"how a verdict names its event: full (a copy of the event) or ref (input topic, partition, offset and event id)"`
	AlertsTopic            string                `mapstructure:"alerts_topic" desc:"topic of the alerts"`
	FeedbackTopic          string                `mapstructure:"feedback_topic" desc:"topic of people's \"not an issue\" records (Slack buttons), read to its end at start: accepted patterns stop alerting (empty: off)"`
	GroupID                string                `mapstructure:"group_id" desc:"consumer group id"`
	TopicPartitions        int                   `mapstructure:"topic_partitions" desc:"partitions of the topics created at start (existing topics are left alone)"`
	TopicReplicationFactor int                   `mapstructure:"topic_replication_factor" desc:"replication factor of the topics created at start"`
	RulesPoll              time.Duration         `mapstructure:"rules_poll" desc:"how often the rules directory is checked for changed files to reload (0: only on SIGHUP)"`
	ReplayEvents           int64                 `mapstructure:"replay_events" desc:"messages of a partition's history re-read to rebuild per-user state when the partition is assigned to this instance (0: off, its users start cold)"`
	DedupEvents            int                   `mapstructure:"dedup_events" desc:"event ids remembered per partition (at least this many, at most twice) to drop duplicates before detection (0: off)"`
	StateFile              string                `mapstructure:"state_file" desc:"file of the engine's learnt state (templates, baselines): loaded at start, saved every state_save_interval and at exit; anomaly-classifier learn writes one (empty: off)"`
	StateSaveInterval      time.Duration         `mapstructure:"state_save_interval" desc:"how often the learnt state is saved to state_file and state_topic (0: only at exit)"`
	StateTopic             string                `mapstructure:"state_topic" desc:"compacted topic of the learnt state shared by the replicas (templates, networks, executables; each partition's users): read to its end at start, followed, saved every state_save_interval and at exit (empty: off, e.g. --state-topic=)"`
	Consumer               ConsumerConfig        `mapstructure:"consumer"`
	Writer                 kafkax.WriterConfig   `mapstructure:"writer"`
	RulesDir               string                `mapstructure:"rules_dir" desc:"directory of extra Sigma rules (*.yml, *.yaml, recursive) loaded with the shipped rule pack; empty = the pack alone"`
	RunbookBaseURL         string                `mapstructure:"runbook_base_url" desc:"URL prefix of the runbooks linked from findings (a family name and .md are appended)"`
	Stats                  engine.StatsConfig    `mapstructure:"stats"`
	Template               engine.TemplateConfig `mapstructure:"template"`
	Commands               engine.CommandsConfig `mapstructure:"commands"`
	Volume                 engine.VolumeConfig   `mapstructure:"volume"`
	EventTime              engine.TimeConfig     `mapstructure:"event_time"`
	OpenAI                 llm.Config            `mapstructure:"openai"`
}

// ConsumerConfig is the service's "consumer" key: its batching and the group
// settings every service shares.
type ConsumerConfig struct {
	BatchSize           int           `mapstructure:"batch_size" desc:"max records classified per batch (one commit per batch)"`
	Linger              time.Duration `mapstructure:"linger" desc:"how long a batch waits for more records once it has one"`
	kafkax.MemberConfig `mapstructure:",squash"`
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
		HTTP:                   obs.HTTPConfig{Addr: ":8082"},
		InputTopic:             "logs.raw",
		VerdictsTopic:          "logs.verdicts",
		Verdicts:               service.VerdictsAll,
		VerdictEvent:           service.VerdictEventFull,
		AlertsTopic:            "alerts",
		FeedbackTopic:          "logwarden.feedback",
		GroupID:                "anomaly-classifier",
		TopicPartitions:        6,
		TopicReplicationFactor: 1,
		RulesPoll:              5 * time.Second,
		ReplayEvents:           20000,
		DedupEvents:            service.DefaultDedupEvents,
		StateSaveInterval:      5 * time.Minute,
		StateTopic:             "logwarden.state",
		Consumer:               ConsumerConfig{BatchSize: cc.BatchSize, Linger: cc.Linger, MemberConfig: cc.Member()},
		Writer:                 kafkax.DefaultWriterConfig(),
		RulesDir:               ec.RulesDir,
		RunbookBaseURL:         ec.Runbooks,
		Stats:                  ec.Stats,
		Template:               ec.Template,
		Commands:               ec.Commands,
		Volume:                 ec.Volume,
		EventTime:              ec.EventTime,
		OpenAI:                 llm.DefaultConfig(),
	}
}

// Engine is the engine's part of the configuration.
func (c *Config) Engine() engine.Config {
	return engine.Config{RulesDir: c.RulesDir, Runbooks: c.RunbookBaseURL, Stats: c.Stats, Template: c.Template, Commands: c.Commands, Volume: c.Volume, EventTime: c.EventTime}
}

// ConsumerConfig is the kafkax consumer configuration.
func (c *Config) ConsumerConfig() kafkax.ConsumerConfig {
	cc := c.Consumer.Apply(kafkax.DefaultConsumerConfig(c.GroupID, c.InputTopic))
	cc.BatchSize, cc.Linger = c.Consumer.BatchSize, c.Consumer.Linger
	return cc
}

// Service is what internal/service.Run needs; reload gets a value per SIGHUP.
func (c *Config) Service(reload <-chan os.Signal) service.Config {
	return service.Config{
		Kafka: c.Kafka, HTTP: c.HTTP, Consumer: c.ConsumerConfig(), Writer: c.Writer,
		Topics:     service.Topics{Verdicts: c.VerdictsTopic, VerdictsMode: c.Verdicts, VerdictEvent: c.VerdictEvent, Alerts: c.AlertsTopic},
		Partitions: c.TopicPartitions, ReplicationFactor: c.TopicReplicationFactor,
		Engine: c.Engine(), LLM: c.OpenAI, ReplayEvents: c.ReplayEvents, DedupEvents: c.DedupEvents,
		RulesPoll: c.RulesPoll, Reload: reload, StateFile: c.StateFile, StateSaveInterval: c.StateSaveInterval,
		FeedbackTopic: c.FeedbackTopic, StateTopic: c.StateTopic,
	}
}

// Validate reports every invalid setting, each as "key (ENV_NAME): message".
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, config.EnvName(key), fmt.Sprintf(format, args...)))
	}
	for _, k := range []struct{ key, v string }{{"input_topic", c.InputTopic}, {"alerts_topic", c.AlertsTopic}, {"group_id", c.GroupID}} {
		if k.v == "" {
			bad(k.key, "must not be empty")
		}
	}
	switch c.Verdicts {
	case service.VerdictsAll, service.VerdictsAnomalous, service.VerdictsOff:
	default:
		bad("verdicts", "%q is not one of all, anomalous, off", c.Verdicts)
	}
	switch c.VerdictEvent {
	case service.VerdictEventFull, service.VerdictEventRef:
	default:
		bad("verdict_event", "%q is not one of full, ref", c.VerdictEvent)
	}
	if c.Verdicts != service.VerdictsOff && c.VerdictsTopic == "" {
		bad("verdicts_topic", "must not be empty unless verdicts is off")
	}
	if c.TopicPartitions < 1 {
		bad("topic_partitions", "%d, want ≥ 1", c.TopicPartitions)
	}
	if c.TopicReplicationFactor < 1 {
		bad("topic_replication_factor", "%d, want ≥ 1", c.TopicReplicationFactor)
	}
	if c.ReplayEvents < 0 {
		bad("replay_events", "%d, want ≥ 0", c.ReplayEvents)
	}
	if c.DedupEvents < 0 || c.DedupEvents > maxDedupEvents {
		bad("dedup_events", "%d, want 0 (off) to %d", c.DedupEvents, maxDedupEvents)
	}
	if c.RulesPoll < 0 {
		bad("rules_poll", "%s, want ≥ 0", c.RulesPoll)
	}
	if c.StateSaveInterval < 0 {
		bad("state_save_interval", "%s, want ≥ 0", c.StateSaveInterval)
	}
	errs = append(errs, c.Kafka.Validate(), c.Log.Validate(), c.HTTP.Validate(),
		config.Keyed("consumer", c.ConsumerConfig().Validate()), config.Keyed("writer", c.Writer.Validate()),
		config.Keyed("", c.Engine().Validate()), c.OpenAI.Validate())
	return errors.Join(errs...)
}
