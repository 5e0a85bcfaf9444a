package novelty

import (
	"fmt"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// TemplatesConfig tunes the new-template detector (keys under template.*).
type TemplatesConfig struct {
	WarmupEvents int           `mapstructure:"warmup_events" desc:"events of the online warm-up (with warmup_span): templates seen in it are the baseline, and new info-level templates are reported only after it"`
	WarmupSpan   time.Duration `mapstructure:"warmup_span" desc:"event time of the online warm-up (with warmup_events)"`
	AcceptHours  int           `mapstructure:"accept_hours" desc:"a template below critical level seen in this many distinct hours is routine (accepted)"`
	AcceptDays   int           `mapstructure:"accept_days" desc:"a template below critical level seen on this many distinct days is routine (accepted)"`
	AcceptLines  int           `mapstructure:"accept_lines" desc:"a template below critical level with this many lines over at least two distinct hours is routine (accepted)"`
	MaxTemplates int           `mapstructure:"max_known" desc:"most templates whose history is kept (least recently seen forgotten)"`
}

// DefaultTemplatesConfig: a warm-up of 200 events and 1 h (both; lines without a
// time count only): long enough for a stream to show its everyday vocabulary, short
// enough that a file of a few thousand lines is mostly judged against it. A pattern
// below critical level is routine once seen in 6 distinct hours, on 2 days, or 30
// times over 2 hours: it keeps coming back (a chronic message, not an incident);
// a burst within an hour or two, or a handful of lines, stays new. Critical-level
// patterns are never routine: they stay new until learnt (learn, warm-up) or
// accepted by a person.
func DefaultTemplatesConfig() TemplatesConfig {
	return TemplatesConfig{WarmupEvents: 200, WarmupSpan: time.Hour, AcceptHours: 6, AcceptDays: 2, AcceptLines: 30, MaxTemplates: 50000}
}

// Validate names the key of the first invalid setting.
func (c TemplatesConfig) Validate() error {
	switch {
	case c.WarmupEvents < 0:
		return fmt.Errorf("template.warmup_events: must be ≥ 0, got %d", c.WarmupEvents)
	case c.WarmupSpan < 0:
		return fmt.Errorf("template.warmup_span: must be ≥ 0, got %s", c.WarmupSpan)
	case c.AcceptHours < 1 || c.AcceptHours > 168:
		return fmt.Errorf("template.accept_hours: must be in 1..168, got %d", c.AcceptHours)
	case c.AcceptDays < 1 || c.AcceptDays > 60:
		return fmt.Errorf("template.accept_days: must be in 1..60, got %d", c.AcceptDays)
	case c.AcceptLines < 1:
		return fmt.Errorf("template.accept_lines: must be ≥ 1, got %d", c.AcceptLines)
	case c.MaxTemplates < 2:
		return fmt.Errorf("template.max_known: must be ≥ 2, got %d", c.MaxTemplates)
	}
	return nil
}

// How a template came to be accepted.
const (
	Learning = iota // not accepted yet
	Routine         // seen over enough hours or days
	Baseline        // learnt from known-good logs (anomaly-classifier learn)
	Person          // accepted by a person (Accept)
)

// Known is what the detector remembers of one template.
type Known struct {
	Count    int64
	First    int64 // Unix seconds of the first line
	Level    logwardenpb.LogLevel
	Accepted uint8
	Hours    []int32 // distinct hours (since the epoch) seen while learning, at most accept_hours
	Days     []int32 // distinct days seen while learning, at most accept_days
}

// Templates is the new-template detector. Not safe for concurrent use.
type Templates struct {
	cfg   TemplatesConfig
	known *detect.Gen[string, *Known]
	seen  int64
	start int64 // Unix seconds of the earliest event seen; 0 before the first
	warm  bool  // the warm-up is over (its templates became the baseline)
}

// NewTemplates returns an empty detector; cfg must be valid.
func NewTemplates(cfg TemplatesConfig) *Templates {
	return &Templates{cfg: cfg, known: detect.NewGen[string, *Known](cfg.MaxTemplates)}
}

// Warm reports whether the online warm-up is over.
func (d *Templates) Warm() bool { return d.warm }

// newAlertCooldown: a new pattern alerts at most once a day until it is accepted.
const newAlertCooldown = 24 * time.Hour

// Detect implements detect.Detector.
func (d *Templates) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	tid := e.Template.ID
	if tid == "" {
		return out
	}
	sec := e.Time.Unix()
	d.seen++
	if !e.Time.IsZero() && (d.start == 0 || sec < d.start) {
		d.start = sec
	}
	// a line without a time of its own cannot tell how long the warm-up lasted: count only
	if !d.warm && d.seen > int64(d.cfg.WarmupEvents) && (e.Time.IsZero() || sec-d.start >= int64(d.cfg.WarmupSpan/time.Second)) {
		d.AcceptAll() // the warm-up's templates are the baseline
		d.warm = true
	}
	k, ok := d.known.Get(tid)
	if !ok {
		k = &Known{First: sec}
		d.known.Put(tid, k)
	}
	k.Count++
	lvl := e.Level()
	if lvl > k.Level {
		k.Level = lvl
	}
	if k.Accepted == Learning {
		d.learn(k, sec, e.Time.IsZero())
	}
	switch {
	case k.Accepted == Learning && lvl >= logwardenpb.LogLevel_LOG_LEVEL_ERROR:
		// a critical line of a pattern not in the baseline is anomalous every time (until
		// learnt or accepted); an error line the first time (it alerts), then it adds weight
		f := &logwardenpb.Finding{Detector: "template", RuleId: "template.new-error", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
			Title: "New error pattern"}
		switch {
		case !d.warm && k.Count > 1:
			f.Severity, f.Score = logwardenpb.Severity_SEVERITY_LOW, 0.3 // in the warm-up: the first line only
		case lvl >= logwardenpb.LogLevel_LOG_LEVEL_CRITICAL:
			f.Severity, f.Score, f.Title = logwardenpb.Severity_SEVERITY_HIGH, 0.8, "New critical pattern"
		}
		f.Reason = fmt.Sprintf("%s line of a kind not in the baseline (%s): %s", levelName(lvl), d.history(k, sec, lvl), reasonText(e))
		out = append(out, detect.Detection{Finding: f, Entity: origin(e), Key: tid, Cooldown: newAlertCooldown})
	case !ok && d.warm:
		text := reasonText(e)
		f := &logwardenpb.Finding{Detector: "template", RuleId: "template.new", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.2,
			Title: "New log template", Reason: "first line of a kind never seen before: " + text}
		if lvl == logwardenpb.LogLevel_LOG_LEVEL_WARNING {
			f.Score, f.Reason = 0.3, "first warning of a kind never seen before: "+text
		}
		out = append(out, detect.Detection{Finding: f, Entity: origin(e), Key: tid, Candidate: true})
	}
	return out
}

// reasonText is the template as a finding's reason shows it.
func reasonText(e *detect.Event) string {
	return detect.Sanitize(detect.Clip(e.Template.Template, 160))
}

// learn records the line's hour and day and accepts the template once it was
// seen over enough of them, or often enough over two hours (lines without a time:
// often enough); critical-level patterns are never routine.
func (d *Templates) learn(k *Known, sec int64, timeless bool) {
	if k.Level >= logwardenpb.LogLevel_LOG_LEVEL_CRITICAL {
		k.Hours, k.Days = nil, nil
		return
	}
	if !timeless {
		k.Hours = addDistinct(k.Hours, int32(floorDiv(sec, 3600)), d.cfg.AcceptHours)
		k.Days = addDistinct(k.Days, int32(floorDiv(sec, 86400)), d.cfg.AcceptDays)
	}
	if len(k.Hours) >= d.cfg.AcceptHours || len(k.Days) >= d.cfg.AcceptDays ||
		(k.Count >= int64(d.cfg.AcceptLines) && (len(k.Hours) >= 2 || timeless)) {
		k.Accepted, k.Hours, k.Days = Routine, nil, nil
	}
}

func (d *Templates) history(k *Known, sec int64, lvl logwardenpb.LogLevel) string {
	age := (time.Duration(sec-k.First) * time.Second).Round(time.Second)
	if lvl >= logwardenpb.LogLevel_LOG_LEVEL_CRITICAL {
		return fmt.Sprintf("first seen %s ago, %d lines; new until learnt or accepted", age, k.Count)
	}
	return fmt.Sprintf("first seen %s ago, %d lines in %d distinct hours; routine after %d hours, %d days or %d lines over 2 hours",
		age, k.Count, len(k.Hours), d.cfg.AcceptHours, d.cfg.AcceptDays, d.cfg.AcceptLines)
}

// Accept marks template id as accepted by a person: its lines stop being anomalous
// for being new. It reports whether the template is known.
func (d *Templates) Accept(id string) bool {
	k, ok := d.known.Get(id)
	if ok {
		k.Accepted, k.Hours, k.Days = Person, nil, nil
	}
	return ok
}

// AcceptAll marks every known template as baseline (after learning from known-good logs).
func (d *Templates) AcceptAll() {
	d.known.All(func(_ string, k *Known) bool {
		if k.Accepted == Learning {
			k.Accepted, k.Hours, k.Days = Baseline, nil, nil
		}
		return true
	})
}

// Known returns what the detector remembers of template id.
func (d *Templates) Known(id string) (Known, bool) {
	k, ok := d.known.Peek(id)
	if !ok {
		return Known{}, false
	}
	return *k, true
}

// Len is the number of templates remembered.
func (d *Templates) Len() int { return d.known.Len() }

// Evicted is the number of templates forgotten to stay within max_known.
func (d *Templates) Evicted() int { return d.known.Evicted() }

func addDistinct(xs []int32, x int32, max int) []int32 {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	if len(xs) >= max {
		return xs
	}
	return append(xs, x)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// origin is who a template alert is about: the host, else the source, else the entity.
func origin(e *detect.Event) string {
	if h := e.Log.GetHost(); h != "" {
		return h
	}
	if s := e.Log.GetSource(); s != "" {
		return s
	}
	return e.Entity
}

func levelName(l logwardenpb.LogLevel) string {
	switch l {
	case logwardenpb.LogLevel_LOG_LEVEL_ERROR:
		return "an error"
	case logwardenpb.LogLevel_LOG_LEVEL_CRITICAL:
		return "a critical"
	case logwardenpb.LogLevel_LOG_LEVEL_ALERT:
		return "an alert-level"
	case logwardenpb.LogLevel_LOG_LEVEL_EMERGENCY:
		return "an emergency"
	}
	return "a"
}
