package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/novelty"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigmarules"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/stats"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/volume"
)

const (
	anomalyThreshold = 0.5
	alertCooldown    = 30 * time.Minute
	maxAlertKeys     = 100000
)

// Result is the outcome of Process.
type Result struct {
	Verdict     *logwardenpb.Verdict // always set; Verdict.Event = the event
	Alerts      []*logwardenpb.Alert // one per alert-worthy detection group (may be empty)
	NewTemplate bool                 // first occurrence of the event's template
	// Candidate: a detector found the event novel enough for the LLM's second
	// opinion (a new kind of line after warm-up, a command never seen).
	Candidate bool
}

// episode is an alert fingerprint's current run: alerts are suppressed while
// its detections keep coming within the cooldown.
type episode struct {
	first, last time.Time
}

// storm is one rule alerting about many members of one group: many addresses
// trying passwords on one host, many new error patterns of one source. The first
// member alerts on its own; the others are folded into storm alerts of the group,
// sent when the number of members folded reaches 1, 2, 4, 8, … or an hour after the
// last storm alert, each with the count and a few names so far. Members already in
// the storm do not alert again until the group has been quiet for stormQuiet.
type storm struct {
	first, last, reported time.Time
	members               map[string]struct{} // bounded by stormMembers
	single                string              // the member that alerted on its own
	folded                int64               // members folded
	names                 []string            // a few folded members, for the summary
}

const (
	stormQuiet   = 6 * time.Hour
	stormReport  = time.Hour
	stormNames   = 8
	stormMembers = 1024
)

// Engine classifies events. Not safe for concurrent use.
type Engine struct {
	cfg       Config
	log       *zap.Logger
	miner     *template.Miner
	detectors []detect.Detector
	rulesOnly []detect.Detector // Prime's
	rules     detect.Detector
	hash      *detect.Hasher
	stats     *stats.Baselines
	templates *novelty.Templates
	rare      *novelty.Rare
	commands  *novelty.Commands
	rates     *volume.TemplateRate
	errors    *volume.ErrorRate
	silence   *volume.Silence
	alerts    map[string]*episode
	storms    map[string]*storm
	ev        detect.Event       // the event in hand (reused)
	ds        []detect.Detection // its detections (reused)
}

// New builds an engine with the shipped detectors; rule file errors read file:line: message.
func New(cfg Config, log *zap.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := sigmarules.NewDetector(cfg.RulesDir, cfg.Runbooks, cfg.Stats.MaxEntities)
	if err != nil {
		return nil, err
	}
	if log != nil {
		for _, s := range r.Skipped() {
			log.Warn("rule skipped", zap.String("file", s.File), zap.Int("line", s.Line), zap.String("rule", s.Rule), zap.String("reason", s.Reason))
		}
	}
	return NewWithRules(cfg, log, r)
}

// NewWithRules builds an engine whose rule stage is r (the shipped sigmarules.Detector,
// or another rule engine). When r has Reload() (int, error), ReloadRules calls it.
func NewWithRules(cfg Config, log *zap.Logger, r detect.Detector) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	h := detect.NewHasher()
	e := &Engine{cfg: cfg, log: log, miner: template.New(cfg.Template.Config), rules: r, hash: h,
		stats: stats.New(cfg.Stats, h), templates: novelty.NewTemplates(cfg.Template.TemplatesConfig),
		rare: novelty.NewRare(cfg.Template.RareConfig, h), commands: novelty.NewCommands(cfg.Commands, h),
		rates: volume.NewTemplateRate(cfg.Volume.RateConfig), errors: volume.NewErrorRate(cfg.Volume.ErrorsConfig),
		silence: volume.NewSilence(cfg.Volume.SilenceConfig, cfg.Volume.MaxHosts),
		alerts:  map[string]*episode{}, storms: map[string]*storm{}}
	// Order matters where a detector reads the ones before it: stats does not learn
	// from events the rules found alert-worthy.
	e.detectors = []detect.Detector{e.templates, e.rare, r, e.stats, e.commands, e.rates, e.errors, e.silence}
	e.rulesOnly = []detect.Detector{r}
	return e, nil
}

// Rules returns the number of rules loaded (0 when the rule stage cannot say).
func (e *Engine) Rules() int {
	if c, ok := e.rules.(interface{ Rules() int }); ok {
		return c.Rules()
	}
	return 0
}

// SkippedRules returns the rules the last load left out for an unsupported
// feature (0 when the rule stage cannot say).
func (e *Engine) SkippedRules() int {
	if c, ok := e.rules.(interface{ Skipped() []sigma.Problem }); ok {
		return len(c.Skipped())
	}
	return 0
}

// ReloadRules re-reads the rules; on error the old rules stay. Rules skipped for an
// unsupported feature are logged once per load.
func (e *Engine) ReloadRules() error {
	r, ok := e.rules.(interface{ Reload() (int, error) })
	if !ok {
		return nil
	}
	n, err := r.Reload()
	if err != nil {
		return err
	}
	if c, ok := e.rules.(interface{ Skipped() []sigma.Problem }); ok {
		for _, s := range c.Skipped() {
			e.log.Warn("rule skipped", zap.String("file", s.File), zap.Int("line", s.Line), zap.String("rule", s.Rule), zap.String("reason", s.Reason))
		}
	}
	e.log.Info("rules reloaded", zap.Int("rules", n), zap.Int("skipped", e.SkippedRules()))
	return nil
}

// Accept marks a learnt pattern as accepted by a person, so it stops being
// reported as new. scope is "template:<template id>". It reports whether the
// pattern is known.
func (e *Engine) Accept(scope string) (bool, error) {
	kind, id, ok := cut(scope, ':')
	if !ok || id == "" {
		return false, fmt.Errorf("accept %q: want template:<id>", scope)
	}
	switch kind {
	case "template":
		return e.templates.Accept(id), nil
	}
	return false, fmt.Errorf("accept %q: unknown kind %q (want template)", scope, kind)
}

func cut(s string, sep byte) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
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

// Adopt marks ev's user as adopted when the engine does not know it yet: its partition
// moved to this instance mid-stream, so its history is not here (stats.Baselines.Adopt).
func (e *Engine) Adopt(ev *logwardenpb.LogEvent) { e.stats.Adopt(ev.GetUser()) }

// Process classifies one event whose fields were filled by logparse (offline: no partition).
func (e *Engine) Process(ev *logwardenpb.LogEvent) Result { return e.ProcessFrom(ev, -1) }

// ProcessFrom classifies one event read from partition of logs.raw.
func (e *Engine) ProcessFrom(ev *logwardenpb.LogEvent, partition int32) Result {
	return e.process(ev, partition, e.detectors, true)
}

// Prime runs ev (read from partition) through the rules only, rebuilding their
// windows and the alert episodes they open, without learning anything else (the
// users' baselines already hold the event: RestoreUsers). Its outcome is discarded.
func (e *Engine) Prime(ev *logwardenpb.LogEvent, partition int32) {
	e.process(ev, partition, e.rulesOnly, false)
}

// process classifies ev with detectors; mine: the event goes through the template
// miner (else it has no template).
func (e *Engine) process(ev *logwardenpb.LogEvent, partition int32, detectors []detect.Detector, mine bool) Result {
	t, clamped := e.clampTime(ev, eventTime(ev))
	var m template.Match
	if mine {
		m = e.miner.Add(ev.GetRaw())
	}
	v := &logwardenpb.Verdict{Event: ev, TemplateId: m.ID, Template: m.Template, ClassifiedAt: timestamppb.New(t)}
	if clamped != nil {
		v.Findings = append(v.Findings, clamped)
	}
	// the event and the detections live in the engine and are reused (they would
	// escape through the Detector interface: a kilobyte per event)
	e.ev = detect.NewEvent(ev, t, m)
	e.ev.Partition = partition
	de := &e.ev
	ds := e.ds[:0]
	for _, d := range detectors {
		ds = d.Detect(de, ds)
	}
	defer func() {
		clear(ds)
		e.ds = ds[:0]
		e.ev = detect.Event{}
	}()
	res := Result{Verdict: v, NewTemplate: m.New}

	// fusion: score = 1 − Π(1 − finding score) over the event's own findings;
	// low and informational rule findings are context: only the highest of them
	// counts, so several weak rule hits on one routine command (curl usage,
	// process discovery …) never add up to an anomaly on their own
	keep, weak := 1.0, 0.0
	for _, f := range v.Findings {
		keep *= 1 - math.Min(math.Max(f.Score, 0), 1)
	}
	if n := attached(ds); n > 0 {
		v.Findings = slices.Grow(v.Findings, n) // one allocation, not one per doubling
	}
	for _, d := range ds {
		if d.Detached {
			continue
		}
		f := d.Finding
		v.Findings = append(v.Findings, f)
		sc := math.Min(math.Max(f.Score, 0), 1)
		if f.Detector == "rules" && f.Severity < logwardenpb.Severity_SEVERITY_MEDIUM {
			weak = math.Max(weak, sc)
		} else {
			keep *= 1 - sc
		}
		if f.Severity > v.Severity {
			v.Severity = f.Severity
		}
		res.Candidate = res.Candidate || d.Candidate
	}
	v.Score = 1 - keep*(1-weak)
	v.Anomalous = v.Score >= anomalyThreshold
	for i := range ds {
		d := &ds[i]
		if d.Finding.GetSeverity() < logwardenpb.Severity_SEVERITY_MEDIUM || (!d.Detached && !v.Anomalous) {
			continue
		}
		if a := e.alert(de, d); a != nil {
			res.Alerts = append(res.Alerts, a)
		}
	}
	return res
}

// attached counts the detections about the event itself (its findings).
func attached(ds []detect.Detection) int {
	n := 0
	for i := range ds {
		if !ds[i].Detached {
			n++
		}
	}
	return n
}

// alert returns the alert for d unless its fingerprint is in an episode: an
// alert opens an episode that lasts while the fingerprint's detections keep
// coming less than the cooldown apart. Alerts of one rule about many entities of
// one host are folded into storm alerts (storm).
func (e *Engine) alert(ev *detect.Event, d *detect.Detection) *logwardenpb.Alert {
	t := ev.Time
	entity := d.Entity
	if entity == "" {
		entity = ev.Entity
	}
	key := d.Key
	if key == "" {
		key = entity
	}
	cool := d.Cooldown
	if cool <= 0 {
		cool = alertCooldown
	}
	rule := d.Finding.Detector + "/" + d.Finding.RuleId
	fp := rule + "/" + key
	if ep := e.alerts[fp]; ep != nil && t.Sub(ep.last) < cool && !t.Before(ep.first) {
		ep.last = t
		return nil
	}
	e.bound(t)
	e.alerts[fp] = &episode{first: t, last: t}
	// a storm groups the members of one rule on one host (members: entities) or
	// of one entity (members: keys, e.g. templates)
	group, member := ev.Log.GetHost(), entity
	if group == "" || group == entity {
		group, member = entity, key
	}
	if d.Detached || group == member {
		return e.newAlert(ev, d, fp, entity, nil)
	}
	sk := rule + "/" + group
	st := e.storms[sk]
	if st == nil || t.Sub(st.last) >= stormQuiet || t.Before(st.first) {
		st = &storm{first: t, last: t, reported: t, single: member, members: map[string]struct{}{member: {}}}
		e.storms[sk] = st
		return e.newAlert(ev, d, fp, entity, nil)
	}
	st.last = t
	if _, ok := st.members[member]; ok {
		return nil // already alerted on its own or in a storm alert
	}
	if len(st.members) < stormMembers {
		st.members[member] = struct{}{}
	}
	st.folded++
	if len(st.names) < stormNames {
		st.names = append(st.names, detect.Sanitize(detect.Clip(member, 64)))
	}
	if st.folded&(st.folded-1) != 0 && t.Sub(st.reported) < stormReport {
		return nil
	}
	st.reported = t
	return e.newAlert(ev, d, sk, group, st)
}

// bound keeps the episode and storm maps within maxAlertKeys: stale entries
// first, then arbitrary ones.
func (e *Engine) bound(t time.Time) {
	if len(e.alerts) < maxAlertKeys && len(e.storms) < maxAlertKeys {
		return
	}
	for k, x := range e.alerts {
		if t.Sub(x.last) >= alertCooldown {
			delete(e.alerts, k)
		}
	}
	for k, x := range e.storms {
		if t.Sub(x.last) >= alertCooldown {
			delete(e.storms, k)
		}
	}
	for k := range e.alerts {
		if len(e.alerts) < maxAlertKeys {
			break
		}
		delete(e.alerts, k)
	}
	for k := range e.storms {
		if len(e.storms) < maxAlertKeys {
			break
		}
		delete(e.storms, k)
	}
}

// newAlert builds the alert of d under fingerprint fp; with st, the storm alert
// of the host (entity) standing for every alert folded into st so far.
func (e *Engine) newAlert(ev *detect.Event, d *detect.Detection, fp, entity string, st *storm) *logwardenpb.Alert {
	t := ev.Time
	evidence := d.Evidence
	if evidence == nil {
		evidence = []*logwardenpb.LogEvent{ev.Log}
	}
	if len(evidence) > sigma.MaxEvidence {
		evidence = evidence[len(evidence)-sigma.MaxEvidence:]
	}
	episodeID := d.Episode
	if episodeID == "" {
		episodeID = eventKey(ev.Log, t)
		if d.Detached {
			episodeID = fmt.Sprintf("%d", d.First.UnixNano())
		}
	}
	first, count := d.First, max(d.Count, 1)
	if first.IsZero() {
		first = t
	}
	title, summary := d.Finding.Title, d.Finding.Reason
	if st != nil {
		names := strings.Join(st.names, ", ")
		if st.folded > int64(len(st.names)) {
			names += ", …"
		}
		title += " (storm)"
		summary = fmt.Sprintf("%s on %s: %d more after %s since %s (%s); latest: %s", d.Finding.Title, detect.Sanitize(entity), st.folded,
			detect.Sanitize(detect.Clip(st.single, 64)), st.first.UTC().Format(time.RFC3339), names, d.Finding.Reason)
		episodeID = fmt.Sprintf("%d@%d", st.folded, st.first.UnixNano())
		first, count = st.first, 1+st.folded
	}
	sum := sha256.Sum256([]byte(fp + "\x00" + episodeID))
	return &logwardenpb.Alert{
		Id:          hex.EncodeToString(sum[:16]),
		Fingerprint: fp,
		Severity:    d.Finding.Severity,
		Title:       title,
		Summary:     summary,
		Entity:      entity,
		Findings:    []*logwardenpb.Finding{d.Finding},
		Evidence:    evidence,
		Count:       count,
		FirstSeen:   timestamppb.New(first),
		LastSeen:    timestamppb.New(t),
		RunbookUrl:  d.Finding.RunbookUrl,
	}
}

// eventKey identifies an event: its id, else a hash of its time and raw line.
func eventKey(ev *logwardenpb.LogEvent, t time.Time) string {
	if id := ev.GetId(); id != "" {
		return id
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s", t.UnixNano(), ev.GetRaw())
	return hex.EncodeToString(h.Sum(nil)[:12])
}
