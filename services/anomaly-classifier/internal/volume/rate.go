package volume

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// RateConfig tunes the per-template rate detector (keys under volume.*).
type RateConfig struct {
	SpikeFactor  float64 `mapstructure:"spike_factor" desc:"an hour's count of a template above factor × its expected count (and ≥ spike_min) is a spike"`
	SpikeMin     int     `mapstructure:"spike_min" desc:"smallest hourly count of a template that can be a spike"`
	DropFactor   float64 `mapstructure:"drop_factor" desc:"an hour's count below expected ÷ factor is a drop"`
	DropMin      float64 `mapstructure:"drop_min" desc:"smallest expected hourly count for which a drop is reported"`
	SeasonalDays int     `mapstructure:"seasonal_days" desc:"days of history before the same hour of past days is the expectation (before: the template's hourly mean over at least a day)"`
	MaxTemplates int     `mapstructure:"max_series" desc:"most templates whose hourly counts are kept (least recently seen forgotten)"`
}

// DefaultRateConfig: a spike is 5× the expectation and at least 30 lines in the
// hour, a drop a fifth of an expectation of at least 30: with Poisson counts at
// these levels neither happens by chance in years of hours, and one template going
// from 6 to 30 lines an hour is not worth a page. Seasonal after 3 days, so Monday
// 9:00 is compared with other 9:00s once there are some.
func DefaultRateConfig() RateConfig {
	return RateConfig{SpikeFactor: 5, SpikeMin: 30, DropFactor: 5, DropMin: 30, SeasonalDays: 3, MaxTemplates: 20000}
}

// Validate names the key of the first invalid setting.
func (c RateConfig) Validate() error {
	switch {
	case c.SpikeFactor <= 1:
		return fmt.Errorf("volume.spike_factor: must be > 1, got %g", c.SpikeFactor)
	case c.SpikeMin < 1:
		return fmt.Errorf("volume.spike_min: must be ≥ 1, got %d", c.SpikeMin)
	case c.DropFactor <= 1:
		return fmt.Errorf("volume.drop_factor: must be > 1, got %g", c.DropFactor)
	case c.DropMin < 1:
		return fmt.Errorf("volume.drop_min: must be ≥ 1, got %g", c.DropMin)
	case c.SeasonalDays < 1:
		return fmt.Errorf("volume.seasonal_days: must be ≥ 1, got %d", c.SeasonalDays)
	case c.MaxTemplates < 2:
		return fmt.Errorf("volume.max_series: must be ≥ 2, got %d", c.MaxTemplates)
	}
	return nil
}

// ewma weight of a new hour: about the last 10 observations count.
const alpha = 0.2

// Series is the hourly history of one template.
type Series struct {
	Count    int32       // lines in the current hour
	Hours    int32       // hours observed (closed), at most 1<<30
	Mean     float32     // EWMA of hourly counts over all hours since first seen
	Seasonal [24]float32 // EWMA of the count per hour of day
	Days     [24]uint8   // observations per hour of day (capped)
	Fired    bool        // a spike was reported this hour
	Template string      // text, for reasons
	Entity   string      // who the last line was about (for drop alerts)
}

// TemplateRate detects per-template spikes and drops. Not safe for concurrent use.
type TemplateRate struct {
	cfg    RateConfig
	series *detect.Gen[string, *Series]
	hour   int64  // current hour (since the epoch); 0 before the first event
	total  Series // all lines, for the share of one template
}

// NewTemplateRate returns an empty detector; cfg must be valid.
func NewTemplateRate(cfg RateConfig) *TemplateRate {
	return &TemplateRate{cfg: cfg, series: detect.NewGen[string, *Series](cfg.MaxTemplates)}
}

// maxGap bounds the empty hours filled in when time jumps (a week).
const maxGap = 24 * 7

// Detect implements detect.Detector.
func (d *TemplateRate) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	tid := e.Template.ID
	if tid == "" {
		return out
	}
	hour := floorDiv(e.Time.Unix(), 3600)
	if d.hour == 0 {
		d.hour = hour
	}
	if hour > d.hour {
		out = d.rollover(hour, e, out)
	}
	s, ok := d.series.Get(tid)
	if !ok {
		s = &Series{}
		d.series.Put(tid, s)
	}
	s.Template = e.Template.Template
	if o := origin(e); o != s.Entity {
		s.Entity = clone(o) // must not pin the event's line
	}
	if hour < d.hour { // a late line: its hour is closed
		return out
	}
	s.Count++
	d.total.Count++
	exp, ok := d.expected(s, hour)
	if !ok || s.Fired || int(s.Count) < d.cfg.SpikeMin || float64(s.Count) <= d.cfg.SpikeFactor*math.Max(exp, 1) {
		return out
	}
	s.Fired = true
	f := &logwardenpb.Finding{Detector: "volume", RuleId: "volume.template-spike", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.5,
		Title: "Spike of one kind of line",
		Reason: fmt.Sprintf("%d lines this hour, usually %.1f: %s", s.Count, exp,
			detect.Sanitize(detect.Clip(e.Template.Template, 160)))}
	return append(out, detect.Detection{Finding: f, Entity: origin(e), Key: tid, Count: int64(s.Count)})
}

// expected is the count expected for hour, and whether there is enough history.
func (d *TemplateRate) expected(s *Series, hour int64) (float64, bool) {
	hod := int(floorMod(hour, 24))
	if int(s.Days[hod]) >= d.cfg.SeasonalDays {
		return float64(s.Seasonal[hod]), true
	}
	if s.Hours >= 24 {
		return float64(s.Mean), true
	}
	return 0, false
}

// rollover closes the hours up to hour, reporting drops of the hour that ended.
func (d *TemplateRate) rollover(hour int64, e *detect.Event, out []detect.Detection) []detect.Detection {
	from := d.hour
	if from < hour-maxGap { // compared, not subtracted: from may be far in the past
		from = hour - maxGap
	}
	// the hour's volume against its usual: when everything is quieter (a weekend,
	// a holiday) one template being quieter is not a drop
	scale := 1.0
	if hod := int(floorMod(from, 24)); int(d.total.Days[hod]) >= d.cfg.SeasonalDays && d.total.Seasonal[hod] > 0 {
		scale = math.Min(1, float64(d.total.Count)/float64(d.total.Seasonal[hod]))
	}
	d.series.All(func(tid string, s *Series) bool {
		for h := from; h < hour; h++ {
			c := s.Count
			if h != from {
				c = 0
			}
			if h == from {
				// drops only against the same hour of past days: against a mean, every night is a drop
				hod := int(floorMod(h, 24))
				if exp := float64(s.Seasonal[hod]) * scale; int(s.Days[hod]) >= d.cfg.SeasonalDays && exp >= d.cfg.DropMin && float64(c) < exp/d.cfg.DropFactor {
					f := &logwardenpb.Finding{Detector: "volume", RuleId: "volume.template-drop", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.5,
						Title: "Drop of one kind of line",
						Reason: fmt.Sprintf("%d lines in the hour to %s, usually %.1f: %s", c, time.Unix((h+1)*3600, 0).UTC().Format("2006-01-02 15:04"),
							exp, detect.Sanitize(detect.Clip(s.Template, 160)))}
					out = append(out, detect.Detection{Finding: f, Entity: s.Entity, Key: tid, Detached: true,
						First: time.Unix(h*3600, 0).UTC(), Count: int64(c), Evidence: []*logwardenpb.LogEvent{}})
				}
			}
			d.observe(s, h, c)
		}
		s.Count, s.Fired = 0, false
		return true
	})
	for h := from; h < hour; h++ {
		c := d.total.Count
		if h != from {
			c = 0
		}
		d.observe(&d.total, h, c)
	}
	d.total.Count = 0
	d.hour = hour
	return out
}

func (d *TemplateRate) observe(s *Series, hour int64, c int32) {
	hod := int(floorMod(hour, 24))
	x := float32(c)
	if s.Hours == 0 {
		s.Mean = x
	} else {
		s.Mean += alpha * (x - s.Mean)
	}
	if s.Days[hod] == 0 {
		s.Seasonal[hod] = x
	} else {
		s.Seasonal[hod] += alpha * (x - s.Seasonal[hod])
	}
	if s.Days[hod] < 255 {
		s.Days[hod]++
	}
	if s.Hours < 1<<30 {
		s.Hours++
	}
}

// Len is the number of templates tracked.
func (d *TemplateRate) Len() int { return d.series.Len() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// origin is who a volume alert is about: the host, else the source, else the entity.
func origin(e *detect.Event) string {
	if h := e.Log.GetHost(); h != "" {
		return h
	}
	if s := e.Log.GetSource(); s != "" {
		return s
	}
	return e.Entity
}

func clone(s string) string { return strings.Clone(s) }
