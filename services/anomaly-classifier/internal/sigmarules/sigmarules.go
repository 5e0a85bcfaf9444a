// Package sigmarules is the rules detector: it runs the Sigma rule pack (internal/rulepack)
// plus a user's rule directory on LogEvents and turns matches into findings that explain
// themselves (title, level, ATT&CK technique ids, the rule's author as the DRL requires,
// known false positives, a runbook link).
//
// Data flow: Detect maps the event to Sigma events (internal/taxonomy), asks the compiled
// ruleset which detection rules match (internal/sigma), reports each matching rule once
// per event, and feeds the matches of rules that correlation rules count into the
// Correlator's bounded windows; a correlation whose condition holds yields a finding with
// its window's evidence. Reload swaps the ruleset atomically for the caller (on error the
// old rules stay) and keeps the windows of unchanged correlation rules.
package sigmarules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/rulepack"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/taxonomy"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// DefaultRunbookBase is where runbook links point by default: the project's docs.
const DefaultRunbookBase = "https://github.com/logwarden/logwarden/blob/main/docs/runbooks/"

// Pack is a loaded ruleset and what was left out.
type Pack struct {
	Rules   *sigma.Ruleset
	Skipped []sigma.Problem
	// Only, when set, limits RunTests to these rules (rules test DIR).
	Only []*sigma.Rule
}

// Load reads the shipped pack and, when dir is not empty, every *.yml/*.yaml under dir.
// Malformed rules make it fail with file:line: message (all of them, joined); rules
// using unsupported features are skipped and listed in Pack.Skipped.
func Load(dir string) (*Pack, error) {
	files := rulepack.Files()
	if dir != "" {
		user, err := ReadDir(dir)
		if err != nil {
			return nil, err
		}
		files = append(files, user...)
	}
	rs, errs := sigma.Load(files, taxonomy.Options())
	if len(errs) > 0 {
		return nil, joinProblems(errs)
	}
	for _, o := range rulepack.Tuning() {
		if r := rs.Rule(o.ID); r != nil && rulepack.IsVendored(r.File) {
			r.Level = o.Level
		}
	}
	return &Pack{Rules: rs, Skipped: rs.Skipped}, nil
}

// ReadDir reads the rule files under dir (recursively), named by their path.
func ReadDir(dir string) ([]sigma.File, error) {
	var out []sigma.File
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !rulepack.IsRuleFile(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, sigma.File{Name: p, Data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rules dir: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func joinProblems(ps []sigma.Problem) error {
	errs := make([]error, 0, len(ps))
	for i := range ps {
		errs = append(errs, &ps[i])
	}
	return errors.Join(errs...)
}

// Detector evaluates a Pack as the engine's rules stage (detect.Detector). Not safe
// for concurrent use.
type Detector struct {
	dir     string
	pack    *Pack
	matcher *sigma.Matcher // every rule (the line's message event)
	stable  *sigma.Matcher // rules whose result on derived events is cached
	varying *sigma.Matcher // rules that test fields outside the cache key
	mapper  *taxonomy.Mapper
	corr    *sigma.Correlator
	base    string
	hits    []hit
	cur     *sigma.Event
	curIdx  int
	cache   map[string][]cachedHit
	derived []cachedHit
	key     []byte
	// anyVarying: some rule tests a field outside the cache key
	anyVarying bool
	infos      map[*sigma.Rule]*ruleInfo
}

// ruleInfo is what every finding of a rule repeats, worked out once per rule
// (Runbook lower-cases every tag for every tactic it knows).
type ruleInfo struct {
	id, runbookURL string
	attackIDs      []string // shared by the findings: capacity = length, so an append copies
}

func (d *Detector) info(r *sigma.Rule) *ruleInfo {
	if x := d.infos[r]; x != nil {
		return x
	}
	x := &ruleInfo{id: RuleID(r), runbookURL: d.base + Runbook(r) + ".md", attackIDs: slices.Clip(AttackIDs(r.Tags))}
	d.infos[r] = x
	return x
}

// cachedHit is a rule that matched the derived event at index event.
type cachedHit struct {
	rule  *sigma.Rule
	event int
}

// varyingFields are the fields of derived events that the cache key does not
// determine: rules testing them are evaluated on every event.
var varyingFields = []string{"SourceIp", "Host"}

// resultCacheSize bounds the cached rule results of derived events.
const resultCacheSize = 16384

// NewDetector loads the shipped pack and dir (Load) and returns its Detector.
func NewDetector(dir, runbookBase string, maxKeys int) (*Detector, error) {
	p, err := Load(dir)
	if err != nil {
		return nil, err
	}
	d := New(p, runbookBase, maxKeys)
	d.dir = dir
	return d, nil
}

// New returns a Detector over pack; runbookBase prefixes runbook file names ("" = the
// default); maxKeys bounds the groups of each correlation rule.
func New(pack *Pack, runbookBase string, maxKeys int) *Detector {
	if runbookBase == "" {
		runbookBase = DefaultRunbookBase
	}
	d := &Detector{mapper: taxonomy.NewMapper(), corr: sigma.NewCorrelator(maxKeys), base: runbookBase}
	d.Swap(pack)
	return d
}

// Pack returns the rules in use.
func (d *Detector) Pack() *Pack { return d.pack }

// Rules is the number of rules in use.
func (d *Detector) Rules() int { return len(d.pack.Rules.Rules) }

// Skipped lists the rules the last load left out, with the reason.
func (d *Detector) Skipped() []sigma.Problem { return d.pack.Skipped }

// Reload re-reads the pack and the rules directory; on error the old rules stay.
// Correlation windows of rules still present are kept.
func (d *Detector) Reload() (int, error) {
	p, err := Load(d.dir)
	if err != nil {
		return 0, err
	}
	d.Swap(p)
	return len(p.Rules.Rules), nil
}

// Swap replaces the rules; correlation windows of rules still present are kept.
func (d *Detector) Swap(p *Pack) {
	d.pack = p
	d.matcher = p.Rules.NewMatcher()
	d.stable = p.Rules.NewMatcherOf(func(r *sigma.Rule) bool { return !r.Tests(varyingFields...) })
	d.varying = p.Rules.NewMatcherOf(func(r *sigma.Rule) bool { return r.Tests(varyingFields...) })
	d.cache = map[string][]cachedHit{}
	d.infos = map[*sigma.Rule]*ruleInfo{}
	d.anyVarying = false
	for _, r := range p.Rules.Rules {
		d.anyVarying = d.anyVarying || r.Correlation == nil && r.Tests(varyingFields...)
	}
	d.corr.Keep(p.Rules)
}

// Mapper exposes the taxonomy mapper (its command analysis cache is shared).
func (d *Detector) Mapper() *taxonomy.Mapper { return d.mapper }

// Detect implements detect.Detector: one detection per matching rule that is not
// silent, and one per correlation whose condition holds after this event.
func (d *Detector) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	ev, t := e.Log, e.Time
	d.hits = d.hits[:0]
	// The message event (the raw line, unique per event) is matched every time; the
	// derived events (process, file, network, audit) depend only on the command or
	// file, the user and sudo's fields, so their results are cached on those, and
	// they are built only when a rule needs them (a cache miss, rules testing
	// SourceIp or Host, correlations grouping their matches).
	var k []byte
	var cached []cachedHit
	ok := true // an event without derived events has nothing to cache
	if taxonomy.MayDerive(ev) {
		k = d.cacheKey(ev)
		cached, ok = d.cache[string(k)]
	}
	need := !ok || d.anyVarying
	for _, c := range cached {
		need = need || len(c.rule.Correlations) > 0
	}
	d.mapper.MapMessage(ev)
	var derived []sigma.Event
	if need {
		derived = d.mapper.MapDerived(ev)
	}
	msg := d.mapper.Message() // after MapDerived, which may have moved the events
	d.cur, d.curIdx = msg, 0
	d.matcher.Match(msg, d.add)
	if !ok {
		// matched on their own, whatever the message event matched
		d.derived = d.derived[:0]
		for i := range derived {
			d.cur, d.curIdx = &derived[i], i
			d.stable.Match(d.cur, d.addDerived)
		}
		cached = append([]cachedHit(nil), d.derived...)
		if len(d.cache) >= resultCacheSize {
			n := 0
			for k := range d.cache { // drop about a quarter, arbitrary ones
				delete(d.cache, k)
				if n++; n >= resultCacheSize/4 {
					break
				}
			}
		}
		d.cache[string(k)] = cached
	}
	for _, c := range cached {
		d.cur, d.curIdx = nil, c.event
		if c.event < len(derived) {
			d.cur = &derived[c.event]
		}
		d.add(c.rule)
	}
	if d.anyVarying {
		for i := range derived {
			d.cur, d.curIdx = &derived[i], i
			d.varying.Match(d.cur, d.add)
		}
	}
	for _, h := range d.hits {
		r := h.rule
		if !r.Silent {
			out = append(out, detect.Detection{Finding: d.finding(r, reason(e, r))})
		}
		for _, c := range r.Correlations {
			if h.event == nil {
				continue // cannot happen: derived events are built when a cached rule feeds a correlation
			}
			ch, ok := d.corr.Observe(c, r, h.event, t, sigma.Observation{ID: ev.GetId(), Payload: ev})
			if !ok {
				continue
			}
			key := strings.Join(ch.Group, "/")
			dd := detect.Detection{Finding: d.finding(c, corrReason(c, ch)), Entity: key,
				Episode: ch.Episode, First: ch.First, Count: int64(ch.Total)}
			dd.Evidence = make([]*logwardenpb.LogEvent, 0, len(ch.Evidence))
			for _, o := range ch.Evidence {
				if x, ok := o.Payload.(*logwardenpb.LogEvent); ok {
					dd.Evidence = append(dd.Evidence, x)
				}
			}
			if len(dd.Evidence) == 0 {
				dd.Evidence = []*logwardenpb.LogEvent{ev}
			}
			out = append(out, dd)
		}
	}
	return out
}

// add records a matching rule once per event (its first matching Sigma event).
func (d *Detector) add(r *sigma.Rule) {
	for _, h := range d.hits {
		if h.rule == r {
			return
		}
	}
	d.hits = append(d.hits, hit{rule: r, event: d.cur, idx: d.curIdx})
}

// addDerived records a rule matching a derived event, once.
func (d *Detector) addDerived(r *sigma.Rule) {
	for _, h := range d.derived {
		if h.rule == r {
			return
		}
	}
	d.derived = append(d.derived, cachedHit{rule: r, event: d.curIdx})
}

// cacheKey is everything the derived events depend on besides SourceIp and Host.
func (d *Detector) cacheKey(ev *logwardenpb.LogEvent) []byte {
	f := ev.GetFields()
	k := d.key[:0]
	for _, s := range []string{ev.GetAction(), ev.GetUser(), f["sudo.run_as"], f["sudo.pwd"], ev.GetTarget()} {
		k = append(k, s...)
		k = append(k, 0)
	}
	d.key = k
	return k
}

type hit struct {
	rule  *sigma.Rule
	event *sigma.Event
	idx   int // index among the derived events (cache)
}

// Severity maps a Sigma level.
func Severity(level string) logwardenpb.Severity {
	switch level {
	case "informational":
		return logwardenpb.Severity_SEVERITY_INFO
	case "low":
		return logwardenpb.Severity_SEVERITY_LOW
	case "medium":
		return logwardenpb.Severity_SEVERITY_MEDIUM
	case "high":
		return logwardenpb.Severity_SEVERITY_HIGH
	case "critical":
		return logwardenpb.Severity_SEVERITY_CRITICAL
	}
	return logwardenpb.Severity_SEVERITY_MEDIUM
}

// Score is the finding score of a level: medium and above make an event anomalous
// (≥ 0.5) on their own; low and informational only add evidence (with another
// detector's first-use signal, 0.3, a low hit stays below 0.5).
func Score(level string) float64 {
	switch level {
	case "informational":
		return 0.05
	case "low":
		return 0.2
	case "medium":
		return 0.6
	case "high":
		return 0.8
	case "critical":
		return 0.95
	}
	return 0.6
}

// RuleID is how findings and alert fingerprints name a rule: its name, else its id.
func RuleID(r *sigma.Rule) string {
	if r.Name != "" {
		return r.Name
	}
	return r.Ref()
}

func (d *Detector) finding(r *sigma.Rule, reason string) *logwardenpb.Finding {
	x := d.info(r)
	return &logwardenpb.Finding{
		Detector:       "rules",
		RuleId:         x.id,
		Title:          r.Title,
		Severity:       Severity(r.Level),
		Score:          Score(r.Level),
		Reason:         reason,
		RunbookUrl:     x.runbookURL,
		AttackIds:      x.attackIDs,
		RuleAuthor:     r.Author,
		FalsePositives: r.FalsePositives,
	}
}

// AttackIDs returns the ATT&CK technique ids of attack.tNNNN[.NNN] tags, upper-cased.
func AttackIDs(tags []string) []string {
	var out []string
	for _, t := range tags {
		id, ok := strings.CutPrefix(strings.ToLower(t), "attack.t")
		if !ok || id == "" || id[0] < '0' || id[0] > '9' {
			continue
		}
		out = append(out, "T"+strings.ToUpper(id))
	}
	return out
}

func reason(e *detect.Event, r *sigma.Rule) string {
	ev := e.Log
	subject := ev.GetTarget()
	if subject == "" {
		subject = ev.GetIp()
	}
	if subject == "" {
		subject = ev.GetRaw()
	}
	return detect.Sanitize(e.Entity) + ": " + r.Title + ": " + detect.Sanitize(detect.Clip(subject, 160))
}

func corrReason(c *sigma.Rule, h sigma.Hit) string {
	cc := c.Correlation
	span := h.Last.Sub(h.First).Round(time.Second)
	who := detect.Sanitize(strings.Join(h.Group, "/"))
	switch cc.Type {
	case "value_count":
		list := make([]string, 0, 5)
		for i, v := range h.Values {
			if i == 4 {
				list = append(list, "…")
				break
			}
			list = append(list, detect.Sanitize(detect.Clip(v, 80)))
		}
		return who + ": " + c.Title + ": " + strconv.Itoa(h.Count) + " distinct " + cc.Field + " in " + span.String() + ": " + strings.Join(list, ", ")
	case "temporal":
		return who + ": " + c.Title + ": " + strconv.Itoa(h.Count) + " related rules matched within " + span.String()
	}
	return who + ": " + c.Title + ": " + strconv.Itoa(h.Count) + " matching events in " + span.String()
}

// DetectLog runs Detect on a parsed LogEvent at time t (offline tools and tests).
func (d *Detector) DetectLog(ev *logwardenpb.LogEvent, t time.Time) []detect.Detection {
	e := detect.NewEvent(ev, t, template.Match{})
	return d.Detect(&e, nil)
}
