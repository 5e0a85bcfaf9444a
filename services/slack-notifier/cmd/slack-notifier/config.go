package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/pkg/retry"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/service"
)

// Config is the service's root configuration. Every key has an environment form:
// group.wait → GROUP_WAIT.
type Config struct {
	Kafka           kafkax.Config       `mapstructure:"kafka"`
	Log             obs.LogConfig       `mapstructure:"log"`
	HTTP            obs.HTTPConfig      `mapstructure:"http"`
	AlertsTopic     string              `mapstructure:"alerts_topic" desc:"topic of the alerts to notify about"`
	GroupID         string              `mapstructure:"group_id" desc:"consumer group id"`
	TopicPartitions int                 `mapstructure:"topic_partitions" desc:"partitions of alerts and alerts.dlq when created at start"`
	SilencesTopic   string              `mapstructure:"silences_topic" desc:"compacted topic of the silences (slack-notifier silence, Slack buttons), read by every replica"`
	ActionsTopic    string              `mapstructure:"actions_topic" desc:"compacted topic of what the buttons of posted messages act on, read by every replica (with slack.app_token)"`
	FeedbackTopic   string              `mapstructure:"feedback_topic" desc:"topic of the \"not an issue\" and acknowledgement records the classifier reads (with slack.app_token)"`
	Slack           SlackConfig         `mapstructure:"slack"`
	Webhook         WebhookConfig       `mapstructure:"webhook"`
	Teams           TeamsConfig         `mapstructure:"teams"`
	Group           group.Config        `mapstructure:"group"`
	Retry           RetryConfig         `mapstructure:"retry"`
	Consumer        ConsumerConfig      `mapstructure:"consumer"`
	Writer          kafkax.WriterConfig `mapstructure:"writer"`
}

// SlackConfig selects the Slack destination: a webhook, or a bot token and channel.
type SlackConfig struct {
	WebhookURL    string            `mapstructure:"webhook_url" desc:"Slack incoming webhook URL (secret)"`
	BotToken      string            `mapstructure:"bot_token" desc:"Slack bot token xoxb-… (secret); with slack.channel, threads follow-ups"`
	Channel       string            `mapstructure:"channel" desc:"default channel for the bot token"`
	APIURL        string            `mapstructure:"api_url" desc:"Slack Web API base URL (tests, proxies)"`
	RatePerSecond float64           `mapstructure:"rate_per_second" desc:"max messages per second per destination (a webhook, or a bot channel)"`
	OverflowAfter time.Duration     `mapstructure:"overflow_after" desc:"a destination's backlog beyond what rate_per_second sends in this time is folded into one \"N more alerts\" message (0: never)"`
	Routes        map[string]string `mapstructure:"routes" desc:"channel per severity for the bot token, e.g. critical=#sec-oncall"`
	Timeout       time.Duration     `mapstructure:"timeout" desc:"timeout of one HTTP request to Slack or a webhook"`
	AppToken      string            `mapstructure:"app_token" desc:"Slack app-level token xapp-… with connections:write (secret): with the bot token, alert messages get buttons, received over Socket Mode"`
	Actions       ActionsConfig     `mapstructure:"actions"`
}

// ActionsConfig tunes the buttons (with slack.app_token).
type ActionsConfig struct {
	AllowedUsers  []string      `mapstructure:"allowed_users" desc:"Slack user ids (U…) who may press the buttons; empty: the members of the message's channel (conversations.members)"`
	MaxAge        time.Duration `mapstructure:"max_age" desc:"buttons of messages older than this answer \"too old\"; their records leave actions_topic"`
	NotAnIssueFor time.Duration `mapstructure:"not_an_issue_for" desc:"how long the classifier accepts a pattern marked \"not an issue\""`
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
	BackoffMin    time.Duration `mapstructure:"backoff_min" desc:"first retry delay after a transient failure"`
	BackoffMax    time.Duration `mapstructure:"backoff_max" desc:"cap of the exponential retry delay"`
	MaxRetryAfter time.Duration `mapstructure:"max_retry_after" desc:"longest wait a 429's Retry-After can impose on its destination (the other destinations keep posting)"`
}

// ConsumerConfig is the consumer-group settings the service exposes.
type ConsumerConfig struct {
	kafkax.MemberConfig `mapstructure:",squash"`
	MaxInFlight         int           `mapstructure:"max_in_flight" desc:"max alerts held unacknowledged (waiting for their group's message)"`
	CommitInterval      time.Duration `mapstructure:"commit_interval" desc:"how often acknowledged offsets are committed"`
}

// DefaultConfig runs on a laptop against `make kafka-up`, printing to stdout.
func DefaultConfig() Config {
	cc := kafkax.DefaultConsumerConfig("slack-notifier", "alerts")
	return Config{
		Kafka:           kafkax.DefaultConfig(),
		Log:             obs.DefaultLogConfig(),
		HTTP:            obs.HTTPConfig{Addr: ":8083"},
		AlertsTopic:     "alerts",
		GroupID:         "slack-notifier",
		TopicPartitions: 6,
		SilencesTopic:   "logwarden.silences",
		ActionsTopic:    "logwarden.actions",
		FeedbackTopic:   "logwarden.feedback",
		Slack: SlackConfig{APIURL: "https://slack.com/api/", RatePerSecond: 1, OverflowAfter: 30 * time.Second,
			Routes: map[string]string{}, Timeout: 10 * time.Second,
			Actions: ActionsConfig{AllowedUsers: []string{}, MaxAge: 7 * 24 * time.Hour, NotAnIssueFor: 30 * 24 * time.Hour}},
		Group:    group.DefaultConfig(),
		Retry:    RetryConfig{BackoffMin: 500 * time.Millisecond, BackoffMax: 30 * time.Second, MaxRetryAfter: time.Minute},
		Consumer: ConsumerConfig{MemberConfig: cc.Member(), MaxInFlight: 10000, CommitInterval: cc.CommitInterval},
		Writer:   kafkax.DefaultWriterConfig(),
	}
}

// consumerConfig builds the kafkax consumer settings.
func (c *Config) consumerConfig() kafkax.ConsumerConfig {
	cc := c.Consumer.Apply(kafkax.DefaultConsumerConfig(c.GroupID, c.AlertsTopic))
	cc.MaxInFlight = c.Consumer.MaxInFlight
	cc.CommitInterval = c.Consumer.CommitInterval
	return cc
}

// Options are the service's options; s is the destination.
func (c *Config) Options(s deliver.Sink) service.Options {
	o := service.Options{
		Service: serviceName, Kafka: c.Kafka, Consumer: c.consumerConfig(), Writer: c.Writer,
		Partitions: c.TopicPartitions, SilencesTopic: c.SilencesTopic, HTTP: c.HTTP, Sink: s,
		Delivery: deliver.Options{Group: c.Group, RatePerSecond: c.Slack.RatePerSecond, OverflowAfter: c.Slack.OverflowAfter,
			Retry: retry.Policy{Initial: c.Retry.BackoffMin, Max: c.Retry.BackoffMax, Jitter: 0.2, MaxRetryAfter: c.Retry.MaxRetryAfter}},
	}
	if c.Slack.AppToken != "" {
		o.Actions = &service.ActionsOptions{TargetsTopic: c.ActionsTopic, MaxAge: c.Slack.Actions.MaxAge, FeedbackTopic: c.FeedbackTopic,
			NotAnIssueFor: c.Slack.Actions.NotAnIssueFor, AllowedUsers: c.Slack.Actions.AllowedUsers,
			Slack: slack.New(c.Slack.BotToken, slack.OptionAppLevelToken(c.Slack.AppToken), slack.OptionAPIURL(strings.TrimSuffix(c.Slack.APIURL, "/")+"/"),
				slack.OptionHTTPClient(&http.Client{Timeout: c.Slack.Timeout}))}
	}
	return o
}

// appTokenRE is what an app-level token looks like.
var appTokenRE = regexp.MustCompile(`^xapp-[A-Za-z0-9-]{8,}$`)

// checkActions checks the buttons' settings when slack.app_token is set.
func (c *Config) checkActions() error {
	if c.Slack.AppToken == "" {
		return nil
	}
	switch {
	case !appTokenRE.MatchString(c.Slack.AppToken):
		return config.KeyError("slack.app_token", "not an app-level token (xapp-…)") // the value is a secret: not echoed
	case c.Slack.BotToken == "":
		return config.KeyError("slack.app_token", "buttons need slack.bot_token (SLACK_BOT_TOKEN) and slack.channel: webhooks cannot carry them")
	case c.ActionsTopic == "":
		return config.KeyError("actions_topic", "required with slack.app_token")
	case c.FeedbackTopic == "":
		return config.KeyError("feedback_topic", "required with slack.app_token")
	case c.Slack.Actions.MaxAge < time.Hour:
		return config.KeyError("slack.actions.max_age", "must be at least 1h, got %s", c.Slack.Actions.MaxAge)
	case c.Slack.Actions.NotAnIssueFor < time.Hour || c.Slack.Actions.NotAnIssueFor > 366*24*time.Hour:
		return config.KeyError("slack.actions.not_an_issue_for", "must be between 1h and 366 days, got %s", c.Slack.Actions.NotAnIssueFor)
	}
	for _, u := range c.Slack.Actions.AllowedUsers {
		if !slackUserRE.MatchString(u) {
			return config.KeyError("slack.actions.allowed_users", "%q is not a Slack user id (U…, W…)", u)
		}
	}
	return nil
}

var slackUserRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

func checkURL(key, u string) error {
	if u == "" {
		return nil
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return config.KeyError(key, "not an http(s) URL") // the value may be a secret: not echoed
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
	if err := c.HTTP.Validate(); err != nil {
		return err
	}
	switch {
	case c.AlertsTopic == "":
		return config.KeyError("alerts_topic", "required")
	case c.GroupID == "":
		return config.KeyError("group_id", "required")
	case c.TopicPartitions <= 0:
		return config.KeyError("topic_partitions", "must be > 0, got %d", c.TopicPartitions)
	case c.SilencesTopic == "":
		return config.KeyError("silences_topic", "required")
	}
	for _, k := range []struct{ key, url string }{{"slack.webhook_url", c.Slack.WebhookURL}, {"slack.api_url", c.Slack.APIURL},
		{"webhook.url", c.Webhook.URL}, {"teams.webhook_url", c.Teams.WebhookURL}} {
		if err := checkURL(k.key, k.url); err != nil {
			return err
		}
	}
	if c.Slack.BotToken != "" && c.Slack.Channel == "" {
		return config.KeyError("slack.channel", "required with slack.bot_token")
	}
	if err := c.checkActions(); err != nil {
		return err
	}
	for sev := range c.Slack.Routes {
		switch strings.ToLower(sev) {
		case "critical", "high", "medium", "low", "info":
		default:
			return config.KeyError("slack.routes", "unknown severity %q (critical, high, medium, low, info)", sev)
		}
	}
	switch {
	case c.Slack.RatePerSecond < 0:
		return config.KeyError("slack.rate_per_second", "must be >= 0, got %g", c.Slack.RatePerSecond)
	case c.Slack.OverflowAfter < 0:
		return config.KeyError("slack.overflow_after", "must be >= 0, got %s", c.Slack.OverflowAfter)
	case c.Slack.Timeout <= 0:
		return config.KeyError("slack.timeout", "must be > 0, got %s", c.Slack.Timeout)
	}
	if err := c.Group.Validate(); err != nil {
		return err
	}
	switch {
	case c.Retry.BackoffMin <= 0:
		return config.KeyError("retry.backoff_min", "must be > 0, got %s", c.Retry.BackoffMin)
	case c.Retry.BackoffMax < c.Retry.BackoffMin:
		return config.KeyError("retry.backoff_max", "must be >= retry.backoff_min (%s), got %s", c.Retry.BackoffMin, c.Retry.BackoffMax)
	case c.Retry.MaxRetryAfter <= 0:
		return config.KeyError("retry.max_retry_after", "must be > 0, got %s", c.Retry.MaxRetryAfter)
	case c.Consumer.MaxInFlight <= 0:
		return config.KeyError("consumer.max_in_flight", "must be > 0, got %d", c.Consumer.MaxInFlight)
	case c.Consumer.CommitInterval <= 0:
		return config.KeyError("consumer.commit_interval", "must be > 0, got %s", c.Consumer.CommitInterval)
	case c.Consumer.StartOffset != "earliest" && c.Consumer.StartOffset != "latest":
		return config.KeyError("consumer.start_offset", "%q is not earliest or latest", c.Consumer.StartOffset)
	case c.Consumer.HeartbeatInterval <= 0:
		return config.KeyError("consumer.heartbeat_interval", "must be > 0, got %s", c.Consumer.HeartbeatInterval)
	case c.Consumer.SessionTimeout < 3*c.Consumer.HeartbeatInterval:
		return config.KeyError("consumer.session_timeout", "must be at least 3 × consumer.heartbeat_interval (%s), got %s", c.Consumer.HeartbeatInterval, c.Consumer.SessionTimeout)
	case c.Consumer.ShutdownGrace <= 0:
		return config.KeyError("consumer.shutdown_grace", "must be > 0, got %s", c.Consumer.ShutdownGrace)
	}
	if err := c.consumerConfig().Validate(); err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	if err := c.Writer.Validate(); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ") // "batch_size: must be ≥ 1"
		return config.KeyError("writer."+key, "%s", msg)
	}
	return nil
}
