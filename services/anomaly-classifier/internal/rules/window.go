package rules

import (
	"hash/maphash"
	"sort"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// MaxEvidence bounds the events a window hands back as evidence.
const MaxEvidence = 5

// maxShown bounds the bytes of a distinct value kept for reasons (reasons clip
// values to 80 bytes; distinctness is decided on a hash of the whole value).
const maxShown = 128

// minKeyCap is the smallest per-key entry cap; a rule keeps at most
// max(4 × count, minKeyCap) events per key, the newest.
const minKeyCap = 64

type entry struct {
	t     int64                 // event time, Unix microseconds (covers years 1..9999)
	hash  uint64                // hash of the distinct value (distinct rules)
	shown string                // the distinct value, clipped to maxShown bytes
	ev    *logwardenpb.LogEvent // kept only for the newest MaxEvidence entries
}

type window struct {
	entries []entry        // sorted by time, all within the rule's window of the newest
	values  map[uint64]int // distinct rules: value hash → entries holding it
	start   string         // id of the first event of the current episode
}

// Windows holds the sliding windows of threshold rules, per rule id and key.
// Memory is bounded three ways: keys per rule (maxKeys, stale keys first), events
// per key (max(4 × count, 64), oldest dropped) and event lines (only the newest
// MaxEvidence events of a key keep their LogEvent). Not safe for concurrent use.
type Windows struct {
	maxKeys int
	seed    maphash.Seed
	byRule  map[string]map[string]*window
}

// NewWindows bounds every rule to maxKeys keys.
func NewWindows(maxKeys int) *Windows {
	return &Windows{maxKeys: maxKeys, seed: maphash.MakeSeed(), byRule: map[string]map[string]*window{}}
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

// Entries is the number of events held in all windows (memory bound checks, metrics).
func (w *Windows) Entries() int {
	n := 0
	for _, m := range w.byRule {
		for _, win := range m {
			n += len(win.entries)
		}
	}
	return n
}

// Hit is the state of a threshold after an observation.
type Hit struct {
	Count    int      // events (or distinct values) in the window
	Values   []string // distinct values, in time order (bounded, clipped)
	First    time.Time
	Last     time.Time
	Evidence []*logwardenpb.LogEvent // up to MaxEvidence, oldest first
	Fired    bool                    // the threshold is reached
	Episode  string                  // id of the event that opened the window's episode
	Total    int                     // matching events in the window
}

// Observe adds a matching event at time t for key and reports the window.
//
// A window holds the events of the `within` before its newest event. Events may
// arrive out of order: a late event inside the window is counted where it
// belongs. An event further than `within` from the events held (the stream's
// clock jumped, or one event carried a far-off time such as the year 9999)
// drops them and the window restarts from it, so one far-off time can neither
// pin memory nor blind the rule for later events.
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
	now, within := t.UnixMicro(), th.Within.Microseconds()
	// drop events further than `within` after t, then those further than
	// `within` before the newest that is left (or t)
	hi := len(win.entries)
	for hi > 0 && win.entries[hi-1].t-now > within {
		hi--
	}
	newest := now
	if hi > 0 && win.entries[hi-1].t > newest {
		newest = win.entries[hi-1].t
	}
	lo := 0
	for lo < hi && newest-win.entries[lo].t > within {
		lo++
	}
	win.drop(lo, hi)
	if len(win.entries) == 0 {
		win.start = ev.GetId()
	}
	var e entry
	e.t, e.ev = now, ev
	if th.Distinct != "" {
		e.hash = maphash.String(w.seed, value)
		e.shown = clipValue(value)
		if win.values == nil {
			win.values = map[uint64]int{}
		}
		win.values[e.hash]++
	}
	// insert in time order (usually at the end)
	i := sort.Search(len(win.entries), func(i int) bool { return win.entries[i].t > now })
	win.entries = append(win.entries, entry{})
	copy(win.entries[i+1:], win.entries[i:])
	win.entries[i] = e
	// only the newest MaxEvidence entries keep their event
	n := len(win.entries)
	if i < n-MaxEvidence {
		win.entries[i].ev = nil
	} else if n > MaxEvidence {
		win.entries[n-MaxEvidence-1].ev = nil
	}
	// cap per key: the oldest go first
	if limit := max(4*th.Count, minKeyCap); n > limit {
		win.drop(n-limit, n)
	}

	h := Hit{First: time.UnixMicro(win.entries[0].t).UTC(), Last: t, Episode: win.start, Total: len(win.entries)}
	if th.Distinct != "" {
		h.Count = len(win.values)
	} else {
		h.Count = len(win.entries)
	}
	h.Fired = h.Count >= th.Count
	if !h.Fired {
		return h
	}
	if th.Distinct != "" {
		seen := make(map[uint64]struct{}, 8)
		for _, e := range win.entries {
			if _, ok := seen[e.hash]; !ok && len(h.Values) < 8 {
				seen[e.hash] = struct{}{}
				h.Values = append(h.Values, e.shown)
			}
		}
	}
	from := max(len(win.entries)-MaxEvidence, 0)
	for _, e := range win.entries[from:] {
		if e.ev != nil {
			h.Evidence = append(h.Evidence, e.ev)
		}
	}
	return h
}

// drop keeps entries[lo:hi], forgetting the values of the others.
func (win *window) drop(lo, hi int) {
	if lo == 0 && hi == len(win.entries) {
		return
	}
	if win.values != nil {
		for _, part := range [2][]entry{win.entries[:lo], win.entries[hi:]} {
			for _, e := range part {
				if win.values[e.hash]--; win.values[e.hash] <= 0 {
					delete(win.values, e.hash)
				}
			}
		}
	}
	n := copy(win.entries, win.entries[lo:hi])
	clear(win.entries[n:])
	win.entries = win.entries[:n]
}

// prune drops windows whose newest event is more than the window away from now,
// then, if still full, arbitrary keys (bounded memory first).
func (w *Windows) prune(m map[string]*window, now time.Time, within time.Duration) {
	t, d := now.UnixMicro(), within.Microseconds()
	for k, win := range m {
		if len(win.entries) == 0 {
			delete(m, k)
			continue
		}
		if gap := t - win.entries[len(win.entries)-1].t; gap > d || gap < -d {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < w.maxKeys {
			break
		}
		delete(m, k)
	}
}

func clipValue(s string) string {
	if len(s) <= maxShown {
		return s
	}
	n := maxShown
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
