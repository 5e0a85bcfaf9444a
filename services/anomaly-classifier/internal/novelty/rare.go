package novelty

import (
	"fmt"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// RareConfig tunes the rare-template detector (keys under template.*).
type RareConfig struct {
	RareCount     int `mapstructure:"rare_count" desc:"a template seen at most this many times on a host (or source) is rare there"`
	RareMinEvents int `mapstructure:"rare_min_events" desc:"events a host (or source) must have logged before a template can be rare on it"`
	MaxPairs      int `mapstructure:"rare_max_pairs" desc:"most (host, template) counts kept (least recently seen forgotten)"`
}

// DefaultRareConfig: at most 3 lines among at least 1,000 of the host's is a share
// under 0.3 %: rare, yet common enough in busy hosts that it only adds weight (a
// low finding) to what else the line shows.
func DefaultRareConfig() RareConfig {
	return RareConfig{RareCount: 3, RareMinEvents: 1000, MaxPairs: 200000}
}

// Validate names the key of the first invalid setting.
func (c RareConfig) Validate() error {
	switch {
	case c.RareCount < 0:
		return fmt.Errorf("template.rare_count: must be ≥ 0, got %d", c.RareCount)
	case c.RareMinEvents < 1:
		return fmt.Errorf("template.rare_min_events: must be ≥ 1, got %d", c.RareMinEvents)
	case c.MaxPairs < 2:
		return fmt.Errorf("template.rare_max_pairs: must be ≥ 2, got %d", c.MaxPairs)
	}
	return nil
}

// Rare reports a template that is rare on the line's host (else source) while the
// host is busy. A template new to the whole fleet is left to Templates.
type Rare struct {
	cfg   RareConfig
	hash  *detect.Hasher
	hosts *detect.Gen[string, int64]
	pairs *detect.Gen[uint64, int32]
}

// NewRare returns an empty detector; cfg must be valid; h keys the (host, template) hashes.
func NewRare(cfg RareConfig, h *detect.Hasher) *Rare {
	return &Rare{cfg: cfg, hash: h, hosts: detect.NewGen[string, int64](cfg.MaxPairs / 4),
		pairs: detect.NewGen[uint64, int32](cfg.MaxPairs)}
}

// Detect implements detect.Detector.
func (d *Rare) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	tid := e.Template.ID
	host := origin(e)
	if tid == "" || host == "" {
		return out
	}
	n, ok := d.hosts.Get(host)
	if !ok {
		host = strings.Clone(host) // the key must not pin the event's line
	}
	n++
	d.hosts.Put(host, n)
	h := d.hash.Start()
	h.String(host)
	h.Byte(0)
	h.String(tid)
	k := h.Sum()
	c, _ := d.pairs.Get(k)
	if c < 1<<30 {
		c++
	}
	d.pairs.Put(k, c)
	if e.Template.New || n <= int64(d.cfg.RareMinEvents) || int(c) > d.cfg.RareCount {
		return out
	}
	f := &logwardenpb.Finding{Detector: "template", RuleId: "template.rare", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.2,
		Title: "Rare log template",
		Reason: fmt.Sprintf("%s: a kind of line seen %d times among its %d: %s", detect.Sanitize(host), c, n,
			detect.Sanitize(detect.Clip(e.Template.Template, 160)))}
	if e.Level() >= logwardenpb.LogLevel_LOG_LEVEL_WARNING {
		f.Score = 0.3
	}
	return append(out, detect.Detection{Finding: f, Entity: host, Key: host + "/" + tid})
}
