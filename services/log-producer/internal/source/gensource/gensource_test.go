package gensource

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// slept is the simulated time an auto-advancing fake clock was slept through.
func slept(c *clock.Fake) time.Duration {
	var d time.Duration
	for _, s := range c.Sleeps() {
		d += s
	}
	return d
}

func run(t *testing.T, ctx context.Context, cfg Config, pub source.Publisher, clk clock.Clock) error {
	t.Helper()
	g, err := New(cfg, clk)
	if err != nil {
		t.Fatal(err)
	}
	return g.Run(ctx, pub)
}

type recorder struct {
	batches [][]source.Line
}

func (r *recorder) Publish(ctx context.Context, lines []source.Line) error {
	r.batches = append(r.batches, append([]source.Line(nil), lines...))
	return nil
}

func (r *recorder) all() []source.Line {
	var out []source.Line
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

func TestRunPacesAtRateOnTheClock(t *testing.T) {
	clk := clock.NewAutoFake(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Count, cfg.Seed = 5, 1000, 3
	if err := run(t, context.Background(), cfg, rec, clk); err != nil {
		t.Fatal(err)
	}
	lines := rec.all()
	if len(lines) != 1000 {
		t.Fatalf("%d lines, want 1000", len(lines))
	}
	// 1000 events at 5/s take about 200 simulated seconds.
	if s := slept(clk).Seconds(); s < 170 || s > 230 {
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
		if ev.GetTime().AsTime().Before(clk.Now().Add(-230*time.Second)) || ev.GetTime().AsTime().After(clk.Now()) {
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
	clk := clock.NewAutoFake(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Count, cfg.BatchLines, cfg.AnomalyRate = 0, 1234, 500, 0
	if err := run(t, context.Background(), cfg, rec, clk); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 3 || len(rec.all()) != 1234 || slept(clk) != 0 {
		t.Fatalf("%d batches, %d lines, slept %s", len(rec.batches), len(rec.all()), slept(clk))
	}
	for _, l := range rec.all() {
		if l.Label != nil {
			t.Fatalf("label with anomaly rate 0: %v", l.Label)
		}
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	clk := clock.NewAutoFake(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	rec := &recorder{}
	cfg := DefaultConfig()
	cfg.Rate, cfg.Duration, cfg.Seed = 10, time.Minute, 1
	if err := run(t, context.Background(), cfg, rec, clk); err != nil {
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
	if err := run(t, ctx, cfg, &recorder{}, nil); err != nil {
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
