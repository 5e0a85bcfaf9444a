package sigma

import (
	"slices"
	"time"
)

// Correlator limits.
const (
	// MaxEvidence bounds the observations a Hit hands back.
	MaxEvidence = 5
	// MaxSkew is how far an observation may lie ahead of the newest time seen so far;
	// later times are clamped to it, so one far-future timestamp cannot empty or freeze
	// every window.
	MaxSkew = time.Hour
	// minEntries is the smallest per-group cap: a group keeps at most
	// max(4 × threshold, minEntries) observations, the newest.
	minEntries = 64
)

// Observation is one base-rule match handed to a correlation.
type Observation struct {
	ID      string // event id (the episode of a window is the id of its first entry)
	Payload any    // returned as evidence
}

type entry struct {
	t     time.Time
	value string
	rule  int // index of the base rule in the correlation (temporal)
	obs   Observation
}

type window struct {
	entries []entry
	arr     []entry        // the array entries lie at the end of (drop leaves room before them)
	values  map[string]int // value_count: value → entries holding it
	newest  time.Time
	// sorted: the entries are in time order, as they are unless observations
	// came out of order; then the oldest entry is the first, expiring cuts a
	// prefix, and a window costs the same whatever it holds
	sorted bool
}

// Hit is the state of a correlation group after an observation that satisfies it.
type Hit struct {
	Group    []string // group-by values
	Count    int      // events, distinct values or distinct rules in the window
	Values   []string // value_count: distinct values, first seen first (at most 8)
	First    time.Time
	Last     time.Time
	Total    int // observations in the window
	Episode  string
	Evidence []Observation // the newest MaxEvidence observations, oldest first
}

// Correlator evaluates correlation rules. Its windows are keyed by correlation rule
// reference, so a reloaded ruleset keeps the state of rules whose reference is
// unchanged. Not safe for concurrent use.
type Correlator struct {
	maxKeys int
	byRule  map[string]map[string]*window
	byCorr  map[*Rule]map[string]*window // byRule by rule, cheaper to look up than by id; reset by Keep
	newest  time.Time
	group   []string // the observation's group-by values (reused)
	key     []byte   // its window key (reused: a lookup by []byte allocates nothing)
}

// NewCorrelator bounds each correlation rule to maxKeys groups.
func NewCorrelator(maxKeys int) *Correlator {
	if maxKeys < 1 {
		maxKeys = 1
	}
	return &Correlator{maxKeys: maxKeys, byRule: map[string]map[string]*window{}, byCorr: map[*Rule]map[string]*window{}}
}

// Keep drops the windows of correlation rules that rs no longer has.
func (c *Correlator) Keep(rs *Ruleset) {
	clear(c.byCorr)
	for ref := range c.byRule {
		if r := rs.Rule(ref); r == nil || r.Correlation == nil {
			delete(c.byRule, ref)
		}
	}
}

// Groups returns the number of groups held for a correlation rule (for tests and metrics).
func (c *Correlator) Groups(corr *Rule) int { return len(c.byRule[corr.Ref()]) }

// GroupKey returns the group-by values of e for base rule b of correlation corr; ok is
// false when one is missing (such events are not counted).
func GroupKey(corr, b *Rule, e *Event) ([]string, bool) {
	return appendGroup(make([]string, 0, len(corr.Correlation.GroupBy)), corr, b, e)
}

// appendGroup appends the group-by values of e to out (GroupKey).
func appendGroup(out []string, corr, b *Rule, e *Event) ([]string, bool) {
	c := corr.Correlation
	for _, f := range c.GroupBy {
		if al, ok := c.Aliases[f]; ok {
			if name, ok := al[b.Name]; ok {
				f = name
			} else if id, ok := al[b.ID]; ok {
				f = id
			}
		}
		v := e.First(f)
		if v == "" {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// Observe records that base rule b of correlation corr matched e at time t and reports
// the group's state when the correlation's condition holds.
func (c *Correlator) Observe(corr, b *Rule, e *Event, t time.Time, obs Observation) (Hit, bool) {
	cc := corr.Correlation
	group, ok := appendGroup(c.group[:0], corr, b, e)
	if !ok {
		return Hit{}, false
	}
	c.group = group
	value := ""
	if cc.Type == "value_count" {
		if value = e.First(cc.Field); value == "" {
			return Hit{}, false
		}
	}
	ruleIdx := 0
	for i, x := range cc.Rules {
		if x == b {
			ruleIdx = i
		}
	}
	// Clamp far-future times to the newest plausible time.
	if !c.newest.IsZero() && t.After(c.newest.Add(MaxSkew)) {
		t = c.newest.Add(MaxSkew)
	}
	if t.After(c.newest) {
		c.newest = t
	}
	m := c.byCorr[corr]
	if m == nil {
		ref := corr.Ref()
		if m = c.byRule[ref]; m == nil {
			m = map[string]*window{}
			c.byRule[ref] = m
		}
		c.byCorr[corr] = m
	}
	c.key = c.key[:0]
	for i, g := range group {
		if i > 0 {
			c.key = append(c.key, 0)
		}
		c.key = append(c.key, g...)
	}
	w := m[string(c.key)]
	if w == nil {
		if len(m) >= c.maxKeys {
			c.evict(m, cc.Timespan)
		}
		w = &window{}
		m[string(c.key)] = w
	}
	// A window holds the observations of the timespan before its newest one. An
	// observation further than the span before the newest one held (the clock
	// jumped back, or the newest carried a far-off time) drops those further than
	// the span after it, so one far-off time can neither pin memory nor blind the
	// group; a late observation inside the window is counted where it belongs.
	span := cc.Timespan
	newest := t
	if t.Before(w.newest) {
		// Out of order (w.newest is at or after every entry's time: in order, no
		// entry lies after t and t is the newest, so there is nothing to look at).
		newest = w.unwind(t, span)
	}
	w.newest = newest
	w.expire(newest.Add(-span))
	if limit := max(4*cc.threshold(), minEntries); len(w.entries) >= limit {
		w.drop(len(w.entries) - limit + 1)
	}
	w.sorted = len(w.entries) == 0 || w.sorted && !t.Before(w.entries[len(w.entries)-1].t)
	w.add(entry{t: t, value: value, rule: ruleIdx, obs: obs})
	if n := len(w.entries) - MaxEvidence - 1; n >= 0 {
		w.entries[n].obs.Payload = nil // only the newest observations stay as evidence
	}
	if cc.Type == "value_count" {
		if w.values == nil {
			w.values = map[string]int{}
		}
		w.values[value]++
	}
	h := Hit{Total: len(w.entries)}
	switch cc.Type {
	case "event_count":
		h.Count = len(w.entries)
	case "value_count":
		h.Count = len(w.values)
	case "temporal":
		seen := make([]bool, len(cc.Rules))
		for _, en := range w.entries {
			if !seen[en.rule] {
				seen[en.rule] = true
				h.Count++
			}
		}
		if h.Count < len(cc.Rules) {
			return Hit{}, false
		}
	}
	if cc.Type != "temporal" && !cc.Holds(h.Count) {
		return Hit{}, false
	}
	h.Group = slices.Clone(group)
	h.First, h.Last = w.entries[0].t, w.entries[len(w.entries)-1].t
	if !w.sorted {
		h.Last = h.First
		for _, en := range w.entries {
			if en.t.Before(h.First) {
				h.First = en.t
			}
			if en.t.After(h.Last) {
				h.Last = en.t
			}
		}
	}
	h.Episode = w.entries[0].obs.ID
	if cc.Type == "value_count" {
		for _, en := range w.entries {
			if len(h.Values) == 8 {
				break
			}
			if !slices.Contains(h.Values, en.value) {
				h.Values = append(h.Values, en.value)
			}
		}
	}
	from := max(0, len(w.entries)-MaxEvidence)
	h.Evidence = make([]Observation, 0, len(w.entries)-from)
	for _, en := range w.entries[from:] {
		h.Evidence = append(h.Evidence, en.obs)
	}
	return h, true
}

// threshold is the largest count the condition names.
func (c *Correlation) threshold() int {
	n := len(c.Rules)
	for _, x := range c.Cond {
		n = max(n, x.N)
	}
	return n
}

// unwind handles an observation at t before the window's newest one: entries
// further than span after t are dropped, and it returns the newest time left (t
// or later).
func (w *window) unwind(t time.Time, span time.Duration) time.Time {
	newest := t
	w.filter(func(en *entry) bool {
		if en.t.Sub(t) > span {
			return false
		}
		if en.t.After(newest) {
			newest = en.t
		}
		return true
	})
	return newest
}

// expire drops entries older than cut.
func (w *window) expire(cut time.Time) {
	if !w.sorted {
		w.filter(func(en *entry) bool { return !en.t.Before(cut) })
		return
	}
	n := 0
	for n < len(w.entries) && w.entries[n].t.Before(cut) {
		n++
	}
	w.drop(n)
}

// filter keeps the entries keep accepts, in order. Entries are moved only from
// the first one dropped on: most calls drop none, and moving an entry (it holds
// pointers) costs write barriers while the GC runs.
func (w *window) filter(keep func(*entry) bool) {
	i := 0
	for i < len(w.entries) && keep(&w.entries[i]) {
		i++
	}
	if i == len(w.entries) {
		return
	}
	kept := w.entries[:i]
	for j := i; j < len(w.entries); j++ {
		if en := &w.entries[j]; keep(en) {
			kept = append(kept, *en)
		} else {
			w.forget(*en)
		}
	}
	clear(w.entries[len(kept):])
	w.entries = kept
}

// drop removes the n first entries by moving the window's start: a full window
// drops one entry per observation, and moving the others down each time cost a
// copy of the whole window. add reuses the room.
func (w *window) drop(n int) {
	for _, en := range w.entries[:n] {
		w.forget(en)
	}
	clear(w.entries[:n]) // their evidence is not kept alive by the array
	w.entries = w.entries[n:]
}

// add appends en. When the array has no room after the entries, they move to
// its start, into the room drop left: a copy of the window after at least as
// many drops, and no new array.
func (w *window) add(en entry) {
	if len(w.entries) == cap(w.entries) {
		if room := cap(w.arr) - cap(w.entries); room > 0 {
			n := copy(w.arr[:len(w.entries)], w.entries)
			clear(w.arr[n : n+room]) // the old places of the last ones
			w.entries = w.arr[:n]
		}
	}
	w.entries = append(w.entries, en)
	if cap(w.entries) > cap(w.arr) { // a new array
		w.arr = w.entries[:0]
	}
}

func (w *window) forget(en entry) {
	if w.values != nil {
		if w.values[en.value]--; w.values[en.value] <= 0 {
			delete(w.values, en.value)
		}
	}
}

// evict makes room in a full map: groups idle for longer than span go first, then the
// least recently updated tenth.
func (c *Correlator) evict(m map[string]*window, span time.Duration) {
	cut := c.newest.Add(-span)
	for k, w := range m {
		if w.newest.Before(cut) {
			delete(m, k)
		}
	}
	if len(m) < c.maxKeys {
		return
	}
	n := max(1, len(m)/10)
	type kv struct {
		k string
		t time.Time
	}
	oldest := make([]kv, 0, n+1)
	for k, w := range m {
		oldest = append(oldest, kv{k, w.newest})
		for i := len(oldest) - 1; i > 0 && oldest[i].t.Before(oldest[i-1].t); i-- {
			oldest[i], oldest[i-1] = oldest[i-1], oldest[i]
		}
		if len(oldest) > n {
			oldest = oldest[:n]
		}
	}
	for _, x := range oldest {
		delete(m, x.k)
	}
}
