package gensource

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/generator"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// Config of the generator source. Keys are generator.* in the service's configuration.
type Config struct {
	Rate        float64       `mapstructure:"rate" desc:"events per second on average (0 = as fast as Kafka acknowledges)"`
	Count       int           `mapstructure:"count" desc:"stop after this many events (0 = no limit)"`
	Duration    time.Duration `mapstructure:"duration" desc:"stop after this long (0 = no limit)"`
	Seed        int64         `mapstructure:"seed" desc:"seed of the population and the events (0 = random)"`
	AnomalyRate float64       `mapstructure:"anomaly_rate" desc:"share of anomalous lines (0 = none)"`
	Users       int           `mapstructure:"users" desc:"users in the simulated population"`
	BatchLines  int           `mapstructure:"batch_lines" desc:"most events published at once"`
	Opener      string        `mapstructure:"opener" desc:"scenario injected as the first incident, 10 events in (demos; empty = none)"`
}

// DefaultConfig: 5 events/s, 1 % anomalies, 50 users, endless.
func DefaultConfig() Config {
	return Config{Rate: 5, AnomalyRate: 0.01, Users: 50, BatchLines: 500}
}

// Validate names the key of the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("generator.rate (GENERATOR_RATE): must be ≥ 0, got %g", c.Rate)
	case c.Count < 0:
		return fmt.Errorf("generator.count (GENERATOR_COUNT): must be ≥ 0, got %d", c.Count)
	case c.Duration < 0:
		return fmt.Errorf("generator.duration (GENERATOR_DURATION): must be ≥ 0, got %s", c.Duration)
	case c.AnomalyRate < 0 || c.AnomalyRate > 0.5:
		return fmt.Errorf("generator.anomaly_rate (GENERATOR_ANOMALY_RATE): must be in 0..0.5, got %g", c.AnomalyRate)
	case c.Users < 1 || c.Users > 100000:
		return fmt.Errorf("generator.users (GENERATOR_USERS): must be in 1..100000, got %d", c.Users)
	case c.BatchLines < 1:
		return fmt.Errorf("generator.batch_lines (GENERATOR_BATCH_LINES): must be ≥ 1, got %d", c.BatchLines)
	case c.Opener != "" && !slices.Contains(generator.Scenarios(), c.Opener):
		return fmt.Errorf("generator.opener (GENERATOR_OPENER): unknown scenario %q (known: %s)", c.Opener, strings.Join(generator.Scenarios(), ", "))
	}
	return nil
}

// Generator is the generator source.
type Generator struct {
	cfg   Config
	clock clock.Clock
}

// New returns the source; clk nil is the wall clock.
func New(cfg Config, clk clock.Clock) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Generator{cfg: cfg, clock: clock.OrReal(clk)}, nil
}

// Name is "generator".
func (*Generator) Name() string { return "generator" }

// Run publishes generated events until Count or Duration is reached (then it returns nil
// once the last batch was acknowledged) or ctx ends.
func (gs *Generator) Run(ctx context.Context, pub source.Publisher) error {
	cfg, clk := gs.cfg, gs.clock
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = int64(binary.BigEndian.Uint64(b[:]) >> 1)
	}
	anomaly := cfg.AnomalyRate
	if anomaly == 0 {
		anomaly = -1 // the generator's "none"
	}
	eps := cfg.Rate
	if eps == 0 {
		// Nothing waits at rate 0, but the simulated timeline keeps the density of the
		// default rate, so incidents interleave with normal traffic as they would live
		// (a faster timeline would stretch each incident over far more normal events).
		eps = 5
	}
	start := clk.Now()
	g, err := generator.New(generator.Options{Seed: seed, Users: cfg.Users, AnomalyRate: anomaly, EventsPerSecond: eps, Start: start, Opener: cfg.Opener})
	if err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	pctx, cancel := obs.GraceContext(ctx, 5*time.Second)
	defer cancel()

	sent := 0
	batch := make([]source.Line, 0, cfg.BatchLines)
	next := g.Next()
	buf := make([]byte, 0, 256)
	for {
		if cfg.Count > 0 && sent >= cfg.Count {
			return nil
		}
		if cfg.Duration > 0 && !next.Time.Before(start.Add(cfg.Duration)) {
			return nil
		}
		if cfg.Rate > 0 {
			if wait := next.Time.Sub(clk.Now()); wait > 0 {
				if err := clock.Sleep(ctx, clk, wait); err != nil {
					return nil // shutting down between batches
				}
			}
		} else if ctx.Err() != nil {
			return nil
		}
		// Take every event already due (all of them at rate 0), up to a batch.
		now := clk.Now()
		batch = batch[:0]
		for len(batch) < cfg.BatchLines && (cfg.Count == 0 || sent+len(batch) < cfg.Count) &&
			(cfg.Rate == 0 || !next.Time.After(now)) &&
			(cfg.Duration == 0 || next.Time.Before(start.Add(cfg.Duration))) {
			ev := next
			if cfg.Rate > 0 {
				ev.Time = now
			} else {
				ev.Time = clk.Now()
			}
			buf = ev.AppendLine(buf[:0])
			l := source.Line{Text: string(buf), Source: "generator"}
			if ev.Label.Anomalous {
				l.Label = &logwardenpb.Label{Anomalous: true, Scenario: ev.Label.Scenario, IncidentId: ev.Label.IncidentID}
			}
			batch = append(batch, l)
			next = g.Next()
		}
		if err := pub.Publish(pctx, batch); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("generator: %w", err)
		}
		sent += len(batch)
	}
}
