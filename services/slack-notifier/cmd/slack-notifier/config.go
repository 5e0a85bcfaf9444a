package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
)

// Config is the service's root configuration. Every key has an environment form:
// group.wait → GROUP_WAIT.
type Config struct {
	Kafka           kafkax.Config  `mapstructure:"kafka"`
	Log             obs.LogConfig  `mapstructure:"log"`
	HTTP            HTTPConfig     `mapstructure:"http"`
	AlertsTopic     string         `mapstructure:"alerts_topic" desc:"topic of the alerts to notify about"`
	GroupID         string         `mapstructure:"group_id" desc:"consumer group id"`
	TopicPartitions int            `mapstructure:"topic_partitions" desc:"partitions of alerts and alerts.dlq when created at start"`
	Slack           SlackConfig    `mapstructure:"slack"`
	Webhook         WebhookConfig  `mapstructure:"webhook"`
	Teams           TeamsConfig    `mapstructure:"teams"`
	Group           group.Config   `mapstructure:"group"`
	Retry           RetryConfig    `mapstructure:"retry"`
	Consumer        ConsumerConfig `mapstructure:"consumer"`
}

// HTTPConfig is the ops server.
type HTTPConfig struct {
	Addr string `mapstructure:"addr" desc:"listen address of /healthz, /readyz and /metrics"`
}

// SlackConfig selects the Slack destination: a webhook, or a bot token and channel.
type SlackConfig struct {
	WebhookURL    string            `mapstructure:"webhook_url" desc:"Slack incoming webhook URL (secret)"`
	BotToken      string            `mapstructure:"bot_token" desc:"Slack bot token xoxb-… (secret); with slack.channel, threads follow-ups"`
	Channel       string            `mapstructure:"channel" desc:"default channel for the bot token"`
	APIURL        string            `mapstructure:"api_url" desc:"Slack Web API base URL (tests, proxies)"`
	RatePerSecond float64           `mapstructure:"rate_per_second" desc:"max messages per second per destination"`
	Routes        map[string]string `mapstructure:"routes" desc:"channel per severity for the bot token, e.g. critical=#sec-oncall"`
	Timeout       time.Duration     `mapstructure:"timeout" desc:"timeout of one HTTP request to Slack or a webhook"`
}

// WebhookConfig is the generic JSON webhook.
type WebhookConfig struct {
	URL string `mapstructure:"url" desc:"generic JSON webhook URL (secret)"`
}

// TeamsConfig is the Microsoft Teams webhook.
type TeamsConfig struct {
	WebhookURL string `mapstructure:"webhook_url" desc:"Microsoft Teams webhook URL (secret); Adaptive Card messages"`
}

// RetryConfig is the backoff of transient failures.
type RetryConfig struct {
	BackoffMin time.Duration `mapstructure:"backoff_min" desc:"first retry delay after a transient failure"`
	BackoffMax time.Duration `mapstructure:"backoff_max" desc:"cap of the exponential retry delay"`
}

// ConsumerConfig is the part of kafkax.ConsumerConfig the service exposes.
type ConsumerConfig struct {
	MaxInFlight       int           `mapstructure:"max_in_flight" desc:"max alerts held unacknowledged (waiting for their group's message)"`
	CommitInterval    time.Duration `mapstructure:"commit_interval" desc:"how often acknowledged offsets are committed"`
	SessionTimeout    time.Duration `mapstructure:"session_timeout" desc:"group session timeout"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval" desc:"group heartbeat interval"`
	StartOffset       string        `mapstructure:"start_offset" desc:"where a new group starts: earliest or latest"`
	ShutdownGrace     time.Duration `mapstructure:"shutdown_grace" desc:"time allowed after SIGTERM to finish in-flight work and commit"`
}

// DefaultConfig runs on a laptop against `make kafka-up`, printing to stdout.
func DefaultConfig() Config {
	cc := kafkax.DefaultConsumerConfig("slack-notifier", "alerts")
	return Config{
		Kafka:           kafkax.DefaultConfig(),
		Log:             obs.DefaultLogConfig(),
		HTTP:            HTTPConfig{Addr: ":8083"},
		AlertsTopic:     "alerts",
		GroupID:         "slack-notifier",
		TopicPartitions: 6,
		Slack:           SlackConfig{APIURL: "https://slack.com/api/", RatePerSecond: 1, Routes: map[string]string{}, Timeout: 10 * time.Second},
		Group:           group.DefaultConfig(),
		Retry:           RetryConfig{BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second},
		Consumer: ConsumerConfig{
			MaxInFlight: 10000, CommitInterval: cc.CommitInterval, SessionTimeout: cc.SessionTimeout,
			HeartbeatInterval: cc.HeartbeatInterval, StartOffset: cc.StartOffset, ShutdownGrace: cc.ShutdownGrace,
		},
	}
}

// ConsumerConfig builds the kafkax consumer settings.
func (c *Config) consumerConfig() kafkax.ConsumerConfig {
	cc := kafkax.DefaultConsumerConfig(c.GroupID, c.AlertsTopic)
	cc.MaxInFlight = c.Consumer.MaxInFlight
	cc.CommitInterval = c.Consumer.CommitInterval
	cc.SessionTimeout = c.Consumer.SessionTimeout
	cc.HeartbeatInterval = c.Consumer.HeartbeatInterval
	cc.StartOffset = c.Consumer.StartOffset
	cc.ShutdownGrace = c.Consumer.ShutdownGrace
	return cc
}

func checkURL(key, u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("%s: not an http(s) URL", key) // the value may be a secret: not echoed
	}
	return nil
}

// Validate names the key of the first bad setting.
func (c *Config) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if c.AlertsTopic == "" {
		return fmt.Errorf("alerts_topic: empty")
	}
	if c.GroupID == "" {
		return fmt.Errorf("group_id: empty")
	}
	if c.TopicPartitions <= 0 {
		return fmt.Errorf("topic_partitions: must be > 0")
	}
	for k, u := range map[string]string{"slack.webhook_url": c.Slack.WebhookURL, "slack.api_url": c.Slack.APIURL,
		"webhook.url": c.Webhook.URL, "teams.webhook_url": c.Teams.WebhookURL} {
		if err := checkURL(k, u); err != nil {
			return err
		}
	}
	if c.Slack.BotToken != "" && c.Slack.Channel == "" {
		return fmt.Errorf("slack.channel: required with slack.bot_token")
	}
	for sev := range c.Slack.Routes {
		switch strings.ToLower(sev) {
		case "critical", "high", "medium", "low", "info":
		default:
			return fmt.Errorf("slack.routes: unknown severity %q", sev)
		}
	}
	if c.Slack.RatePerSecond < 0 {
		return fmt.Errorf("slack.rate_per_second: must be >= 0")
	}
	if c.Slack.Timeout <= 0 {
		return fmt.Errorf("slack.timeout: must be > 0")
	}
	if err := c.Group.Validate(); err != nil {
		return err
	}
	if c.Retry.BackoffMin <= 0 || c.Retry.BackoffMax < c.Retry.BackoffMin {
		return fmt.Errorf("retry.backoff_min, retry.backoff_max: need 0 < min <= max")
	}
	if c.Consumer.MaxInFlight <= 0 {
		return fmt.Errorf("consumer.max_in_flight: must be > 0")
	}
	if err := c.consumerConfig().Validate(); err != nil {
		return fmt.Errorf("consumer.%w", err)
	}
	return nil
}
