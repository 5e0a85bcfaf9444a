package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/novelty"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigmarules"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/stats"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/volume"
)

// StatsConfig configures the per-user baselines.
type StatsConfig = stats.Config

// CommandsConfig configures command novelty.
type CommandsConfig = novelty.CommandsConfig

// TemplateConfig configures the template miner and the template detectors
// (new against what was learnt, rare per host).
type TemplateConfig struct {
	template.Config         `mapstructure:",squash"`
	novelty.TemplatesConfig `mapstructure:",squash"`
	novelty.RareConfig      `mapstructure:",squash"`
}

// VolumeConfig configures the volume detectors (per-template rates, error
// bursts per host, silent hosts).
type VolumeConfig struct {
	volume.RateConfig    `mapstructure:",squash"`
	volume.ErrorsConfig  `mapstructure:",squash"`
	volume.SilenceConfig `mapstructure:",squash"`
}

// TimeConfig bounds an event's own time around the time it was received.
type TimeConfig struct {
	MaxFuture time.Duration `mapstructure:"max_future" desc:"an event time later than received_at + this is clamped to it (flagged in fields time.clamped)"`
	MaxPast   time.Duration `mapstructure:"max_past" desc:"an event time earlier than received_at - this is clamped to it (0: no bound)"`
}

// Config configures an Engine.
type Config struct {
	RulesDir  string         `mapstructure:"rules_dir" desc:"directory of extra Sigma rules (*.yml, *.yaml, recursive) loaded with the shipped rule pack; empty = the pack alone"`
	Runbooks  string         `mapstructure:"runbook_base_url" desc:"URL prefix of the runbooks linked from findings (a family name and .md are appended)"`
	Stats     StatsConfig    `mapstructure:"stats"`
	Template  TemplateConfig `mapstructure:"template"`
	Commands  CommandsConfig `mapstructure:"commands"`
	Volume    VolumeConfig   `mapstructure:"volume"`
	EventTime TimeConfig     `mapstructure:"event_time"`
}

// DefaultTimeConfig: a day ahead covers clock skew and the generator's fast
// timeline (300k events at its simulated 5 events/s run 17 h ahead); a year back
// covers backfills of old files and year-less syslog dates, and still catches
// epoch-0 and year-typo times.
func DefaultTimeConfig() TimeConfig {
	return TimeConfig{MaxFuture: 24 * time.Hour, MaxPast: 366 * 24 * time.Hour}
}

// DefaultConfig returns the shipped configuration.
func DefaultConfig() Config {
	return Config{
		Stats: stats.DefaultConfig(),
		Template: TemplateConfig{Config: template.DefaultConfig(), TemplatesConfig: novelty.DefaultTemplatesConfig(),
			RareConfig: novelty.DefaultRareConfig()},
		Commands: novelty.DefaultCommandsConfig(),
		Volume: VolumeConfig{RateConfig: volume.DefaultRateConfig(), ErrorsConfig: volume.DefaultErrorsConfig(),
			SilenceConfig: volume.DefaultSilenceConfig()},
		EventTime: DefaultTimeConfig(),
		Runbooks:  sigmarules.DefaultRunbookBase,
	}
}

// Validate reports a configuration that cannot work, naming the key.
func (c Config) Validate() error {
	for _, v := range []interface{ Validate() error }{c.Stats, c.Template.Config, c.Template.TemplatesConfig, c.Template.RareConfig,
		c.Commands, c.Volume.RateConfig, c.Volume.ErrorsConfig, c.Volume.SilenceConfig} {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if c.EventTime.MaxFuture <= 0 {
		return fmt.Errorf("event_time.max_future: must be > 0, got %s", c.EventTime.MaxFuture)
	}
	if !strings.HasPrefix(c.Runbooks, "https://") && !strings.HasPrefix(c.Runbooks, "http://") {
		return fmt.Errorf("runbook_base_url: want an http(s) URL, got %q", c.Runbooks)
	}
	if c.EventTime.MaxPast < 0 {
		return fmt.Errorf("event_time.max_past: must be ≥ 0, got %s", c.EventTime.MaxPast)
	}
	return nil
}
