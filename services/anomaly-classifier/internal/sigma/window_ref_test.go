package sigma

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// refWindows is the plain statement of the correlation windows: every
// observation re-reads the whole window. Correlator must behave exactly like it;
// it only avoids the work that cannot change anything.
type refWindows struct {
	newest time.Time
	groups map[string]*refWindow
}

type refWindow struct {
	entries []entry
	newest  time.Time
}

func (c *refWindows) observe(corr, b *Rule, e *Event, t time.Time, obs Observation) (Hit, bool) {
	cc := corr.Correlation
	group, ok := GroupKey(corr, b, e)
	if !ok {
		return Hit{}, false
	}
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
	if !c.newest.IsZero() && t.After(c.newest.Add(MaxSkew)) {
		t = c.newest.Add(MaxSkew)
	}
	if t.After(c.newest) {
		c.newest = t
	}
	key := corr.Ref() + "\x01" + strings.Join(group, "\x00")
	w := c.groups[key]
	if w == nil {
		w = &refWindow{}
		c.groups[key] = w
	}
	span := cc.Timespan
	var kept []entry
	newest := t
	for _, en := range w.entries {
		if en.t.Sub(t) > span {
			continue
		}
		kept = append(kept, en)
		if en.t.After(newest) {
			newest = en.t
		}
	}
	w.newest = newest
	w.entries = nil
	for _, en := range kept {
		if !en.t.Before(newest.Add(-span)) {
			w.entries = append(w.entries, en)
		}
	}
	if limit := max(4*cc.threshold(), minEntries); len(w.entries) >= limit {
		w.entries = append([]entry(nil), w.entries[len(w.entries)-limit+1:]...)
	}
	w.entries = append(w.entries, entry{t: t, value: value, rule: ruleIdx, obs: obs})
	if n := len(w.entries) - MaxEvidence - 1; n >= 0 {
		w.entries[n].obs.Payload = nil
	}
	values := map[string]bool{}
	rules := map[int]bool{}
	for _, en := range w.entries {
		values[en.value] = true
		rules[en.rule] = true
	}
	h := Hit{Group: group, Total: len(w.entries)}
	switch cc.Type {
	case "event_count":
		h.Count = len(w.entries)
	case "value_count":
		h.Count = len(values)
	case "temporal":
		h.Count = len(rules)
		if h.Count < len(cc.Rules) {
			return Hit{}, false
		}
	}
	if cc.Type != "temporal" && !cc.Holds(h.Count) {
		return Hit{}, false
	}
	h.First, h.Last = w.entries[0].t, w.entries[0].t
	for _, en := range w.entries {
		if en.t.Before(h.First) {
			h.First = en.t
		}
		if en.t.After(h.Last) {
			h.Last = en.t
		}
	}
	h.Episode = w.entries[0].obs.ID
	if cc.Type == "value_count" {
		seen := map[string]bool{}
		for _, en := range w.entries {
			if !seen[en.value] && len(h.Values) < 8 {
				seen[en.value] = true
				h.Values = append(h.Values, en.value)
			}
		}
	}
	for _, en := range w.entries[max(0, len(w.entries)-MaxEvidence):] {
		h.Evidence = append(h.Evidence, en.obs)
	}
	return h, true
}

// TestCorrelatorMatchesReference feeds random streams (mostly in order, with
// late events, jumps back past the window, far-future times, full windows) to
// Correlator and to the plain statement of the windows and wants the same hits.
func TestCorrelatorMatchesReference(t *testing.T) {
	rs := load(t, corrDoc+`---
title: Pairs
name: pairs
correlation:
    type: value_count
    rules: [fail, ok]
    group-by: [SourceIp, User]
    timespan: 2m
    condition: {field: Target, gte: 3}
`)
	src := Source{Product: "linux"}
	fail, ok := rs.Rule("fail"), rs.Rule("ok")
	var corrs []*Rule
	for _, r := range rs.Rules {
		if r.Correlation != nil {
			corrs = append(corrs, r)
		}
	}
	for seed := uint64(0); seed < 40; seed++ {
		rnd := rand.New(rand.NewPCG(seed, 7))
		c := NewCorrelator(1 << 20)
		ref := &refWindows{groups: map[string]*refWindow{}}
		at := tZero
		burst := 0 // observations left in a burst (one address, short gaps: the window fills up)
		for i := 0; i < 1000; i++ {
			switch r := rnd.IntN(100); {
			case burst > 0:
				burst--
				at = at.Add(time.Duration(rnd.IntN(200)) * time.Millisecond)
			case r < 70:
				at = at.Add(time.Duration(rnd.IntN(3000)) * time.Millisecond)
			case r < 85:
				at = at.Add(-time.Duration(rnd.IntN(90)) * time.Second) // late, within or past the window
			case r < 95:
				burst = rnd.IntN(150)
			case r < 98:
				at = at.Add(time.Duration(rnd.IntN(600)) * time.Second)
			default:
				at = at.Add(48 * time.Hour) // far ahead: clamped
			}
			ip := rnd.IntN(3)
			if burst > 0 {
				ip = 0
			}
			e := ev(src, "SourceIp", fmt.Sprint("10.0.0.", ip), "User", fmt.Sprint("u", rnd.IntN(4)), "Target", fmt.Sprint("/f", rnd.IntN(12)))
			base := fail
			if rnd.IntN(4) == 0 {
				base = ok
			}
			id := fmt.Sprint(i)
			for _, corr := range corrs {
				if !corr.Correlation.uses(base) {
					continue
				}
				got, gotOK := c.Observe(corr, base, e, at, Observation{ID: id, Payload: id})
				want, wantOK := ref.observe(corr, base, e, at, Observation{ID: id, Payload: id})
				if gotOK != wantOK || !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d, observation %d (%s at %s): got %v %+v, want %v %+v", seed, i, corr.Name, at, gotOK, got, wantOK, want)
				}
			}
		}
	}
}

func (c *Correlation) uses(b *Rule) bool {
	for _, r := range c.Rules {
		if r == b {
			return true
		}
	}
	return false
}

// A window that slides (observations in time order, the oldest expiring or
// dropped for room) allocates nothing: it reuses its array.
func TestWindowSlidesWithoutAllocating(t *testing.T) {
	rs := load(t, corrDoc+`---
title: Never
name: never
correlation:
    type: value_count
    rules: [fail]
    group-by: [SourceIp]
    timespan: 1m
    condition: {field: User, gte: 1000}
`)
	never, fail := rs.Rule("never"), rs.Rule("fail")
	c := NewCorrelator(10)
	e := ev(Source{Product: "linux"}, "SourceIp", "10.0.0.1", "User", "u")
	at := tZero
	observe := func(step time.Duration) {
		at = at.Add(step)
		c.Observe(never, fail, e, at, Observation{ID: "x"})
	}
	for _, step := range []time.Duration{time.Second, 100 * time.Millisecond} { // entries expire; the window is full
		for i := 0; i < 2000; i++ {
			observe(step)
		}
		// AllocsPerRun rounds an average down: count them all
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 1000; i++ {
			observe(step)
		}
		runtime.ReadMemStats(&after)
		if n := after.Mallocs - before.Mallocs; n != 0 {
			t.Errorf("step %s: %d allocations in 1000 observations", step, n)
		}
	}
}
