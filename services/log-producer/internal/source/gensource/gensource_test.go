package gensource

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	return ctx.Err()
}

type recorder struct {
	batches [][]publish.Line
}

func (r *recorder) PublishRetry(ctx context.Context, lines []publish.Line) error {
	r.batches = append(r.batches, append([]publish.Line(nil), lines...))
	return nil
}

func (r *recorder) all() []publish.Line {
	var out []publish.Line
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

func TestRunPacesAtRateOnTheClock(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Count, cfg.Seed = 5, 1000, 3
	if err := Run(context.Background(), cfg, rec, clock); err != nil {
		t.Fatal(err)
	}
	lines := rec.all()
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	// 1000 events at 5/s take about 200 simulated seconds.
	if s := clock.slept.Seconds(); s < 170 || s > 230 {
		t.Fatalf("slept %.0f s for 1000 events at 5/s", s)
	}
	p := logparse.New(logparse.Options{})
	anomalous := 0
	for _, l := range lines {
		var ev logwardenpb.LogEvent
		p.Parse(l.Text, &ev)
		if l.Source != "generator" || ev.GetFields()["parse.format"] != "tutorial" || ev.GetUser() == "" {
			t.Fatalf("line %q parsed as %v", l.Text, &ev)
		}
		if ev.GetTime().AsTime().Before(clock.now.Add(-230*time.Second)) || ev.GetTime().AsTime().After(clock.now) {
			t.Fatalf("line %q not stamped with the clock's time", l.Text)
		}
		if l.Label != nil {
			anomalous++
			if !l.Label.GetAnomalous() || l.Label.GetScenario() == "" || !strings.HasPrefix(l.Label.GetIncidentId(), "inc-3-") {
				t.Fatalf("label %v", l.Label)
			}
		}
	}
	if anomalous == 0 {
		t.Fatal("no labelled anomaly in 1000 events at 1 %")
	}
}

func TestRunAsFastAsPossibleBatches(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Count, cfg.BatchLines, cfg.AnomalyRate = 0, 1234, 500, 0
	if err := Run(context.Background(), cfg, rec, clock); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 3 || len(rec.all()) != 1234 || clock.slept != 0 {
		t.Fatalf("%d batches, %d lines, slept %s", len(rec.batches), len(rec.all()), clock.slept)
	}
	for _, l := range rec.all() {
		if l.Label != nil {
			t.Fatalf("label with anomaly rate 0: %v", l.Label)
		}
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Duration, cfg.Seed = 10, time.Minute, 1
	if err := Run(context.Background(), cfg, rec, clock); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.all()); n < 500 || n > 700 {
		t.Fatalf("%d events in a minute at 10/s", n)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := DefaultConfig()
	if err := Run(ctx, cfg, &recorder{}, RealClock{}); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Rate = -1 }, "generator.rate"},
		{func(c *Config) { c.AnomalyRate = 0.7 }, "generator.anomaly_rate"},
		{func(c *Config) { c.Users = 0 }, "generator.users"},
		{func(c *Config) { c.Count = -1 }, "generator.count"},
	} {
		c := DefaultConfig()
		tt.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate = %v, want %q", err, tt.want)
		}
	}
}
