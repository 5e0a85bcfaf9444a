package silence

import (
	"sort"
	"sync"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Set holds the known silences, indexed for Match. Safe for concurrent use.
type Set struct {
	mu    sync.RWMutex
	byID  map[string]*Silence
	index map[string]map[string][]*Silence // label → value → silences keyed there
	scan  []*Silence                       // silences without an equality matcher
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{byID: map[string]*Silence{}, index: map[string]map[string][]*Silence{}}
}

// indexKey is the equality matcher s is filed under: the first of entity, rule, host,
// severity that s matches by equality; ok is false when it has none.
func indexKey(s *Silence) (name, value string, ok bool) {
	for _, n := range labelNames {
		for _, m := range s.Matchers {
			if m.Name == n && m.IsEqual && !m.IsRegex {
				return n, m.Value, true
			}
		}
	}
	return "", "", false
}

// Put adds or replaces s (by id).
func (st *Set) Put(s *Silence) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.remove(s.ID)
	st.byID[s.ID] = s
	if n, v, ok := indexKey(s); ok {
		if st.index[n] == nil {
			st.index[n] = map[string][]*Silence{}
		}
		st.index[n][v] = append(st.index[n][v], s)
		return
	}
	st.scan = append(st.scan, s)
}

// Delete removes the silence id; it reports whether it was there.
func (st *Set) Delete(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.remove(id)
}

func (st *Set) remove(id string) bool {
	old, ok := st.byID[id]
	if !ok {
		return false
	}
	delete(st.byID, id)
	without := func(list []*Silence) []*Silence {
		for i, s := range list {
			if s == old {
				return append(list[:i:i], list[i+1:]...)
			}
		}
		return list
	}
	if n, v, ok := indexKey(old); ok {
		if l := without(st.index[n][v]); len(l) > 0 {
			st.index[n][v] = l
		} else {
			delete(st.index[n], v)
		}
		return true
	}
	st.scan = without(st.scan)
	return true
}

// Match returns the silence muting a at now that ends last, or nil.
func (st *Set) Match(a *logwardenpb.Alert, now time.Time) *Silence {
	return st.MatchLabels(LabelsOf(a), now)
}

// Muted is Match for the delivery pipeline: the id of the silence muting a at now.
func (st *Set) Muted(a *logwardenpb.Alert, now time.Time) (string, bool) {
	if s := st.Match(a, now); s != nil {
		return s.ID, true
	}
	return "", false
}

// MatchLabels is Match for labels already read.
func (st *Set) MatchLabels(l Labels, now time.Time) *Silence {
	st.mu.RLock()
	defer st.mu.RUnlock()
	best := longest(nil, st.scan, l, now)
	for _, n := range labelNames {
		if byValue := st.index[n]; byValue != nil {
			best = longest(best, byValue[l.Get(n)], l, now)
		}
	}
	return best
}

// longest returns, of best and the silences of list muting l at now, the one that ends last.
func longest(best *Silence, list []*Silence, l Labels, now time.Time) *Silence {
	for _, s := range list {
		if s.Active(now) && s.Matches(l) && (best == nil || s.EndsAt.After(best.EndsAt)) {
			best = s
		}
	}
	return best
}

// Get returns the silence id.
func (st *Set) Get(id string) (*Silence, bool) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	s, ok := st.byID[id]
	return s, ok
}

// List returns every silence, by start time then id.
func (st *Set) List() []*Silence {
	st.mu.RLock()
	out := make([]*Silence, 0, len(st.byID))
	for _, s := range st.byID {
		out = append(out, s)
	}
	st.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Ended returns the ids of the silences over at now.
func (st *Set) Ended(now time.Time) []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	var out []string
	for id, s := range st.byID {
		if s.Ended(now) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Count returns how many silences are active and pending (not started yet) at now.
func (st *Set) Count(now time.Time) (active, pending int) {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, s := range st.byID {
		switch {
		case s.Active(now):
			active++
		case now.Before(s.StartsAt):
			pending++
		}
	}
	return active, pending
}

// Equivalent returns an active silence at now with the same matchers as s that ends no
// earlier than s, or nil: pressing "Silence 1h" twice makes one silence.
func (st *Set) Equivalent(s *Silence, now time.Time) *Silence {
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, o := range st.byID {
		if o.Active(now) && !o.EndsAt.Before(s.EndsAt) && o.Same(s) {
			return o
		}
	}
	return nil
}
