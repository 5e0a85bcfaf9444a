package detect

import (
	"cmp"
	"maps"
	"slices"
)

// Gen is a map bounded to about Max keys that forgets the least recently used
// ones: two generations, lookups promote a key from the old generation to the new,
// and when the new one holds Max/2 keys the old one is dropped. Cheaper than a list
// (no per-key pointers), and a key used within the last Max/2 insertions is never
// lost. Not safe for concurrent use.
type Gen[K cmp.Ordered, V any] struct {
	max      int
	cur, old map[K]V
	evicted  int
}

// NewGen returns a map of at most about max keys (max ≥ 2).
func NewGen[K cmp.Ordered, V any](max int) *Gen[K, V] {
	max = max / 2 * 2
	if max < 2 {
		max = 2
	}
	return &Gen[K, V]{max: max, cur: map[K]V{}, old: map[K]V{}}
}

// Get returns the value of k and whether it is held; a held key becomes recent.
func (g *Gen[K, V]) Get(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	if ok {
		delete(g.old, k)
		g.put(k, v)
	}
	return v, ok
}

// Peek returns the value of k without making it recent.
func (g *Gen[K, V]) Peek(k K) (V, bool) {
	if v, ok := g.cur[k]; ok {
		return v, true
	}
	v, ok := g.old[k]
	return v, ok
}

// Put sets k to v and makes it recent.
func (g *Gen[K, V]) Put(k K, v V) {
	// Assign first: most puts update a key just read with Get (now in cur), and
	// one map operation is half the cost of a lookup and an assignment.
	n := len(g.cur)
	g.cur[k] = v
	if len(g.cur) == n {
		return
	}
	delete(g.old, k)
	if n >= g.max/2 { // cur was full: k opens the next generation
		delete(g.cur, k)
		g.put(k, v)
	}
}

func (g *Gen[K, V]) put(k K, v V) {
	if len(g.cur) >= g.max/2 {
		g.evicted += len(g.old)
		g.old, g.cur = g.cur, make(map[K]V, len(g.cur))
	}
	g.cur[k] = v
}

// Delete forgets k.
func (g *Gen[K, V]) Delete(k K) {
	delete(g.cur, k)
	delete(g.old, k)
}

// Len is the number of keys held.
func (g *Gen[K, V]) Len() int { return len(g.cur) + len(g.old) }

// Evicted is the number of keys forgotten so far to stay within the bound.
func (g *Gen[K, V]) Evicted() int { return g.evicted }

// All calls fn for every key, older generation first and each generation in key order,
// until fn returns false. The order is deterministic, so snapshots of equal state are
// equal and findings raised while walking (rate drops, silences) come in a stable order.
func (g *Gen[K, V]) All(fn func(K, V) bool) {
	for _, gen := range []map[K]V{g.old, g.cur} {
		for _, k := range slices.Sorted(maps.Keys(gen)) {
			if !fn(k, gen[k]) {
				return
			}
		}
	}
}
