package rules

import (
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// MaxEvidence bounds the events a window hands back as evidence.
const MaxEvidence = 5

type entry struct {
	t     time.Time
	value string
	ev    *logwardenpb.LogEvent
}

type window struct {
	entries []entry        // oldest first, within the window
	values  map[string]int // distinct rules: value → entries holding it
	fired   time.Time
	start   string // id of the first event of the current firing episode
}

// Windows holds the sliding windows of threshold rules, per rule id and key.
// Not safe for concurrent use.
type Windows struct {
	maxKeys int
	byRule  map[string]map[string]*window
}

// NewWindows bounds every rule to maxKeys keys (least recently seen dropped).
func NewWindows(maxKeys int) *Windows {
	return &Windows{maxKeys: maxKeys, byRule: map[string]map[string]*window{}}
}

// Keep drops the windows of rules not in set (after a reload).
func (w *Windows) Keep(set *Set) {
	ids := map[string]bool{}
	for _, r := range set.Rules {
		ids[r.ID] = true
	}
	for id := range w.byRule {
		if !ids[id] {
			delete(w.byRule, id)
		}
	}
}

// Hit is the state of a threshold after an observation.
type Hit struct {
	Count    int      // events (or distinct values) in the window
	Values   []string // distinct values, in first-seen order (bounded)
	First    time.Time
	Last     time.Time
	Evidence []*logwardenpb.LogEvent // up to MaxEvidence, oldest first
	Fired    bool                    // the threshold is reached
	Episode  string                  // id of the event that opened the window's episode
	Total    int                     // matching events in the window
}

// Observe adds a matching event at time t for key and reports the window.
func (w *Windows) Observe(r *Rule, key string, t time.Time, value string, ev *logwardenpb.LogEvent) Hit {
	th := r.Threshold
	m := w.byRule[r.ID]
	if m == nil {
		m = map[string]*window{}
		w.byRule[r.ID] = m
	}
	win := m[key]
	if win == nil {
		if len(m) >= w.maxKeys {
			w.prune(m, t, th.Within)
		}
		win = &window{}
		m[key] = win
	}
	cut := t.Add(-th.Within)
	drop := 0
	for drop < len(win.entries) && win.entries[drop].t.Before(cut) {
		drop++
	}
	if limit := 4 * th.Count; len(win.entries)+1-drop > limit && limit >= 64 {
		drop = len(win.entries) + 1 - limit
	}
	if drop > 0 {
		if win.values != nil {
			for _, e := range win.entries[:drop] {
				if win.values[e.value]--; win.values[e.value] <= 0 {
					delete(win.values, e.value)
				}
			}
		}
		clear(win.entries[:drop])
		win.entries = append(win.entries[:0], win.entries[drop:]...)
	}
	if len(win.entries) == 0 {
		win.start = ev.GetId()
	}
	win.entries = append(win.entries, entry{t: t, value: value, ev: ev})
	h := Hit{First: win.entries[0].t, Last: t, Episode: win.start, Total: len(win.entries)}
	if th.Distinct != "" {
		if win.values == nil {
			win.values = map[string]int{}
		}
		win.values[value]++
		h.Count = len(win.values)
	} else {
		h.Count = len(win.entries)
	}
	h.Fired = h.Count >= th.Count
	if h.Fired && th.Distinct != "" {
		seen := make(map[string]struct{}, 8)
		for _, e := range win.entries {
			if _, ok := seen[e.value]; !ok && len(h.Values) < 8 {
				seen[e.value] = struct{}{}
				h.Values = append(h.Values, e.value)
			}
		}
	}
	if h.Fired {
		from := len(win.entries) - MaxEvidence
		if from < 0 {
			from = 0
		}
		for _, e := range win.entries[from:] {
			h.Evidence = append(h.Evidence, e.ev)
		}
	}
	return h
}

// prune drops windows whose newest entry is older than the window.
func (w *Windows) prune(m map[string]*window, now time.Time, within time.Duration) {
	cut := now.Add(-within)
	for k, win := range m {
		if len(win.entries) == 0 || win.entries[len(win.entries)-1].t.Before(cut) {
			delete(m, k)
		}
	}
	for k := range m { // still full: drop arbitrary keys (bounded memory first)
		if len(m) < w.maxKeys {
			break
		}
		delete(m, k)
	}
}
