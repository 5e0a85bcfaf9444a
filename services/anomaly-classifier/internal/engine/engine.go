package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/rules"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/stats"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// StatsConfig configures the per-user baselines.
type StatsConfig = stats.Config

// TemplateConfig configures the template miner and its signals.
type TemplateConfig struct {
	template.Config `mapstructure:",squash"`
	WarmupEvents    int `mapstructure:"warmup_events" desc:"events seen before new or rare templates are reported"`
	RareCount       int `mapstructure:"rare_count" desc:"a template seen at most this many times after warm-up is rare"`
}

// TimeConfig bounds an event's own time around the time it was received.
type TimeConfig struct {
	MaxFuture time.Duration `mapstructure:"max_future" desc:"an event time later than received_at + this is clamped to it (flagged in fields time.clamped)"`
	MaxPast   time.Duration `mapstructure:"max_past" desc:"an event time earlier than received_at - this is clamped to it (0: no bound)"`
}

// Config configures an Engine.
type Config struct {
	Rules     string         `mapstructure:"rules" desc:"rule file (YAML); empty = the shipped default rules"`
	Stats     StatsConfig    `mapstructure:"stats"`
	Template  TemplateConfig `mapstructure:"template"`
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
	return Config{Stats: stats.DefaultConfig(), Template: TemplateConfig{Config: template.DefaultConfig(), WarmupEvents: 5000, RareCount: 3},
		EventTime: DefaultTimeConfig()}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if err := c.Stats.Validate(); err != nil {
		return err
	}
	if err := c.Template.Config.Validate(); err != nil {
		return err
	}
	if c.EventTime.MaxFuture <= 0 {
		return fmt.Errorf("event_time.max_future: must be > 0, got %s", c.EventTime.MaxFuture)
	}
	if c.EventTime.MaxPast < 0 {
		return fmt.Errorf("event_time.max_past: must be ≥ 0, got %s", c.EventTime.MaxPast)
	}
	if c.Template.WarmupEvents < 0 || c.Template.RareCount < 0 {
		return fmt.Errorf("template.warmup_events and template.rare_count must be ≥ 0")
	}
	return nil
}

const (
	anomalyThreshold = 0.5
	alertCooldown    = 30 * time.Minute
	maxAlertKeys     = 100000
	maxReasonTargets = 4
)

// Result is the outcome of Process.
type Result struct {
	Verdict     *logwardenpb.Verdict // always set; Verdict.Event = the event
	Alerts      []*logwardenpb.Alert // one per alert-worthy finding group (may be empty)
	NewTemplate bool                 // first occurrence of the event's template
}

type episode struct {
	id    string
	first time.Time
	last  time.Time
	count int64
}

// Engine classifies events. Not safe for concurrent use.
type Engine struct {
	cfg     Config
	log     *zap.Logger
	rules   *rules.Set
	windows *rules.Windows
	miner   *template.Miner
	stats   *stats.Baselines
	seen    int64
	alerts  map[string]*episode
}

// New builds an engine; rule file errors read file:line: message.
func New(cfg Config, log *zap.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	set, err := rules.Load(cfg.Rules)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, log: log, rules: set, windows: rules.NewWindows(cfg.Stats.MaxEntities),
		miner: template.New(cfg.Template.Config), stats: stats.New(cfg.Stats), alerts: map[string]*episode{}}, nil
}

// Rules returns the number of rules loaded.
func (e *Engine) Rules() int { return len(e.rules.Rules) }

// ReloadRules re-reads the rule file; on error the old rules stay. Window
// state of rules whose id is unchanged is kept.
func (e *Engine) ReloadRules() error {
	set, err := rules.Load(e.cfg.Rules)
	if err != nil {
		return err
	}
	e.rules = set
	e.windows.Keep(set)
	e.log.Info("rules reloaded", zap.Int("rules", len(set.Rules)))
	return nil
}

// Entity is who an alert is about: the user, else the ip, else the host.
func Entity(ev *logwardenpb.LogEvent) string {
	switch {
	case ev.GetUser() != "":
		return ev.GetUser()
	case ev.GetIp() != "":
		return ev.GetIp()
	}
	return ev.GetHost()
}

func eventTime(ev *logwardenpb.LogEvent) time.Time {
	if ev.GetTime() != nil {
		return ev.GetTime().AsTime()
	}
	if ev.GetReceivedAt() != nil {
		return ev.GetReceivedAt().AsTime()
	}
	return time.Time{}
}

// FieldTimeClamped holds an event's original time (RFC 3339) when the engine
// clamped it to the range around received_at.
const FieldTimeClamped = "time.clamped"

// clampTime keeps an event's time within [received_at − max_past, received_at +
// max_future]: the time is client-controlled, and windows, baselines and alert
// episodes run on it. A clamped event keeps its original time in
// fields[time.clamped] and gets an info finding. Without received_at (offline
// files) the time is taken as it is.
func (e *Engine) clampTime(ev *logwardenpb.LogEvent, t time.Time) (time.Time, *logwardenpb.Finding) {
	if ev.GetReceivedAt() == nil || ev.GetTime() == nil {
		return t, nil
	}
	recv := ev.GetReceivedAt().AsTime()
	c := t
	if hi := recv.Add(e.cfg.EventTime.MaxFuture); t.After(hi) {
		c = hi
	} else if e.cfg.EventTime.MaxPast > 0 {
		if lo := recv.Add(-e.cfg.EventTime.MaxPast); t.Before(lo) {
			c = lo
		}
	}
	if c.Equal(t) {
		return t, nil
	}
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	orig := ev.GetTime()
	ev.Fields[FieldTimeClamped] = orig.AsTime().Format(time.RFC3339Nano)
	if !orig.IsValid() {
		ev.Fields[FieldTimeClamped] = fmt.Sprintf("seconds=%d", orig.GetSeconds())
	}
	ev.Time = timestamppb.New(c)
	return c, &logwardenpb.Finding{Detector: "engine", RuleId: "event-time-clamped", Severity: logwardenpb.Severity_SEVERITY_INFO,
		Title:  "Event time out of range",
		Reason: fmt.Sprintf("the event's own time %s is more than the allowed skew from when it was received (%s); classified at %s", ev.Fields[FieldTimeClamped], recv.Format(time.RFC3339), c.Format(time.RFC3339))}
}

func key(ev *logwardenpb.LogEvent, per string) string {
	switch per {
	case "user":
		return ev.GetUser()
	case "ip":
		return ev.GetIp()
	case "host":
		return ev.GetHost()
	}
	return Entity(ev)
}

type pending struct {
	f        *logwardenpb.Finding
	rule     *rules.Rule
	evidence []*logwardenpb.LogEvent
	episode  string
	first    time.Time
	count    int64
	per      string
}

// Adopt marks ev's user as adopted when the engine does not know it yet: its partition
// moved to this instance mid-stream, so its history is not here (stats.Baselines.Adopt).
func (e *Engine) Adopt(ev *logwardenpb.LogEvent) { e.stats.Adopt(ev.GetUser()) }

// Process classifies one event whose fields were filled by logparse.
func (e *Engine) Process(ev *logwardenpb.LogEvent) Result {
	t, clamped := e.clampTime(ev, eventTime(ev))
	e.seen++
	m := e.miner.Add(ev.GetRaw())
	v := &logwardenpb.Verdict{Event: ev, TemplateId: m.ID, Template: m.Template, ClassifiedAt: timestamppb.New(t)}
	if clamped != nil {
		v.Findings = append(v.Findings, clamped)
	}
	res := Result{Verdict: v, NewTemplate: m.New}
	var pend []pending

	if e.seen > int64(e.cfg.Template.WarmupEvents) {
		if m.New {
			v.Findings = append(v.Findings, &logwardenpb.Finding{Detector: "template", RuleId: "template.new", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.2,
				Title: "New log template", Reason: "first line of a kind never seen before: " + stats.Sanitize(clip(m.Template, 160))})
		} else if m.Count <= int64(e.cfg.Template.RareCount) {
			v.Findings = append(v.Findings, &logwardenpb.Finding{Detector: "template", RuleId: "template.rare", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.2,
				Title: "Rare log template", Reason: fmt.Sprintf("a kind of line seen only %d times: %s", m.Count, stats.Sanitize(clip(m.Template, 160)))})
		}
	}

	for _, r := range e.rules.Rules {
		if !r.Match(ev, m.Template) {
			continue
		}
		who := stats.Sanitize(Entity(ev))
		f := &logwardenpb.Finding{Detector: "rules", RuleId: r.ID, Severity: r.Severity, Score: r.Score, Title: r.Title, RunbookUrl: r.RunbookURL}
		p := pending{f: f, rule: r, first: t, count: 1, per: "entity"}
		if r.Threshold == nil {
			f.Reason = fmt.Sprintf("%s: %s: %s", who, r.Title, stats.Sanitize(clip(subject(ev), 160)))
			p.evidence = []*logwardenpb.LogEvent{ev}
			p.episode = eventKey(ev)
		} else {
			th := r.Threshold
			k := key(ev, th.Per)
			if k == "" {
				continue
			}
			val := ""
			if th.Distinct != "" {
				val = rules.Field(ev, m.Template, th.Distinct)
			}
			h := e.windows.Observe(r, k, t, val, ev)
			if !h.Fired {
				continue
			}
			p.per, p.first, p.count, p.evidence, p.episode = th.Per, h.First, int64(h.Total), h.Evidence, h.Episode
			if len(p.evidence) == 0 { // the window restarted around a late event
				p.evidence = []*logwardenpb.LogEvent{ev}
			}
			if p.episode == "" {
				p.episode = eventKey(p.evidence[0])
			}
			span := h.Last.Sub(h.First).Round(time.Second)
			if th.Distinct != "" {
				list := make([]string, 0, maxReasonTargets)
				for i, x := range h.Values {
					if i == maxReasonTargets {
						list = append(list, "…")
						break
					}
					list = append(list, stats.Sanitize(clip(x, 80)))
				}
				f.Reason = fmt.Sprintf("%s: %s: %d distinct %s in %s: %s", stats.Sanitize(k), r.Title, h.Count, th.Distinct, span, strings.Join(list, ", "))
			} else {
				f.Reason = fmt.Sprintf("%s: %s: %d matching events in %s", stats.Sanitize(k), r.Title, h.Count, span)
			}
		}
		v.Findings = append(v.Findings, f)
		pend = append(pend, p)
	}

	n := len(v.Findings)
	v.Findings = e.stats.Observe(ev, t, len(pend) > 0, v.Findings)
	for _, f := range v.Findings[n:] {
		if f.Severity >= logwardenpb.Severity_SEVERITY_MEDIUM {
			pend = append(pend, pending{f: f, first: t, count: 1, evidence: []*logwardenpb.LogEvent{ev}, episode: eventKey(ev), per: "user"})
		}
	}

	// fusion
	keep := 1.0
	for _, f := range v.Findings {
		keep *= 1 - math.Min(math.Max(f.Score, 0), 1)
		if f.Severity > v.Severity {
			v.Severity = f.Severity
		}
	}
	v.Score = 1 - keep
	v.Anomalous = v.Score >= anomalyThreshold
	if !v.Anomalous {
		return res
	}
	for _, p := range pend {
		if p.f.Severity < logwardenpb.Severity_SEVERITY_MEDIUM {
			continue
		}
		if a := e.alert(ev, t, p); a != nil {
			res.Alerts = append(res.Alerts, a)
		}
	}
	return res
}

// alert returns the alert for p unless its fingerprint alerted within the cooldown.
func (e *Engine) alert(ev *logwardenpb.LogEvent, t time.Time, p pending) *logwardenpb.Alert {
	entity := Entity(ev)
	if p.per != "entity" && p.per != "user" {
		entity = key(ev, p.per)
	}
	fp := p.f.Detector + "/" + p.f.RuleId + "/" + entity
	ep := e.alerts[fp]
	if ep != nil && t.Sub(ep.last) < alertCooldown && !t.Before(ep.first) {
		ep.last = t
		ep.count += 1
		return nil
	}
	if len(e.alerts) >= maxAlertKeys {
		for k, x := range e.alerts {
			if t.Sub(x.last) >= alertCooldown {
				delete(e.alerts, k)
			}
		}
		for k := range e.alerts {
			if len(e.alerts) < maxAlertKeys {
				break
			}
			delete(e.alerts, k)
		}
	}
	e.alerts[fp] = &episode{id: p.episode, first: t, last: t, count: p.count}
	sum := sha256.Sum256([]byte(fp + "\x00" + p.episode))
	ev0 := p.evidence
	if len(ev0) > rules.MaxEvidence {
		ev0 = ev0[len(ev0)-rules.MaxEvidence:]
	}
	return &logwardenpb.Alert{
		Id:          hex.EncodeToString(sum[:16]),
		Fingerprint: fp,
		Severity:    p.f.Severity,
		Title:       p.f.Title,
		Summary:     p.f.Reason,
		Entity:      entity,
		Findings:    []*logwardenpb.Finding{p.f},
		Evidence:    ev0,
		Count:       p.count,
		FirstSeen:   timestamppb.New(p.first),
		LastSeen:    timestamppb.New(t),
		RunbookUrl:  p.f.RunbookUrl,
	}
}

// eventKey identifies an event: its id, else a hash of its time and raw line.
func eventKey(ev *logwardenpb.LogEvent) string {
	if id := ev.GetId(); id != "" {
		return id
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s", eventTime(ev).UnixNano(), ev.GetRaw())
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func subject(ev *logwardenpb.LogEvent) string {
	if t := ev.GetTarget(); t != "" {
		return t
	}
	if ip := ev.GetIp(); ip != "" {
		return ip
	}
	return ev.GetRaw()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
