package volume

import (
	"fmt"
	"math"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// SilenceConfig tunes the silence detector (keys under volume.*).
type SilenceConfig struct {
	SilenceFactor float64       `mapstructure:"silence_factor" desc:"a host silent for factor × its usual gap between lines (and ≥ silence_min) has gone silent"`
	SilenceMin    time.Duration `mapstructure:"silence_min" desc:"shortest silence reported"`
	SilenceEvents int           `mapstructure:"silence_events" desc:"lines a host must have logged before its silence is reported"`
}

// DefaultSilenceConfig: 30 usual gaps and at least 15 minutes, after 200 lines:
// a host logging every few seconds is missed within a quarter of an hour, one
// logging a line an hour is never judged on a single quiet morning.
func DefaultSilenceConfig() SilenceConfig {
	return SilenceConfig{SilenceFactor: 30, SilenceMin: 15 * time.Minute, SilenceEvents: 200}
}

// Validate names the key of the first invalid setting.
func (c SilenceConfig) Validate() error {
	switch {
	case c.SilenceFactor <= 1:
		return fmt.Errorf("volume.silence_factor: must be > 1, got %g", c.SilenceFactor)
	case c.SilenceMin <= 0:
		return fmt.Errorf("volume.silence_min: must be > 0, got %s", c.SilenceMin)
	case c.SilenceEvents < 2:
		return fmt.Errorf("volume.silence_events: must be ≥ 2, got %d", c.SilenceEvents)
	}
	return nil
}

// Talker is what Silence remembers of one host (or source).
type Talker struct {
	Last      int64   // Unix seconds of its last line
	Gap       float32 // EWMA of the seconds between its lines
	Lines     int64
	Partition int32 // partition its lines came from (-1 offline)
	Silent    bool  // reported silent, not heard since
}

// Silence reports hosts and sources that stopped logging.
type Silence struct {
	cfg     SilenceConfig
	talkers *detect.Gen[string, *Talker]
	now     map[int32]int64 // newest event time per partition
	checked int64           // Unix seconds of the last check
}

// NewSilence returns an empty detector; cfg must be valid. maxHosts bounds the
// hosts remembered.
func NewSilence(cfg SilenceConfig, maxHosts int) *Silence {
	return &Silence{cfg: cfg, talkers: detect.NewGen[string, *Talker](maxHosts), now: map[int32]int64{}}
}

// checkEvery is how often (event time) silences are looked for.
const checkEvery = 60

// Detect implements detect.Detector.
func (d *Silence) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	host := origin(e)
	if host == "" {
		return out
	}
	sec := e.Time.Unix()
	p := e.Partition
	if sec > d.now[p] {
		d.now[p] = sec
	}
	t, ok := d.talkers.Get(host)
	if !ok {
		t = &Talker{Last: sec, Partition: p}
		d.talkers.Put(clone(host), t)
	} else if sec > t.Last {
		gap := float32(sec - t.Last)
		if t.Lines == 1 {
			t.Gap = gap
		} else {
			t.Gap += 0.05 * (gap - t.Gap) // about the last 20 gaps
		}
		t.Last = sec
	}
	t.Lines++
	t.Partition = p
	if t.Silent {
		t.Silent = false
	}
	if sec-d.checked < checkEvery {
		return out
	}
	d.checked = sec
	d.talkers.All(func(name string, t *Talker) bool {
		now, ok := d.now[t.Partition]
		if !ok || t.Silent || t.Lines < int64(d.cfg.SilenceEvents) {
			return true
		}
		quiet := now - t.Last
		limit := math.Max(d.cfg.SilenceMin.Seconds(), d.cfg.SilenceFactor*float64(t.Gap))
		if float64(quiet) < limit {
			return true
		}
		t.Silent = true
		f := &logwardenpb.Finding{Detector: "volume", RuleId: "volume.silence", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.5,
			Title: "Source went silent",
			Reason: fmt.Sprintf("%s logged a line every %s on average (%d lines) and has been silent for %s",
				detect.Sanitize(name), (time.Duration(t.Gap) * time.Second).Round(time.Second), t.Lines, (time.Duration(quiet) * time.Second).Round(time.Second))}
		out = append(out, detect.Detection{Finding: f, Entity: name, Detached: true, First: time.Unix(t.Last, 0).UTC(),
			Evidence: []*logwardenpb.LogEvent{}})
		return true
	})
	return out
}
