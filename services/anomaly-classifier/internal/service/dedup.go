package service

import "hash/maphash"

// dedup drops events whose id this instance already classified, so a record delivered
// twice (a producer retry, a redelivery after a rebalance, the overlap of a state replay
// with the live stream) counts once in windows and baselines and yields one verdict.
//
// It remembers ids per partition: the producer keys by entity, so both copies of an
// event land in the same partition, and a partition's replay cannot push out the ids of
// another. Each partition keeps two generations of at most n ids; when the current one
// is full the older one is cleared and reused, so an id is remembered for at least the
// next n events of its partition and at most 2n, in bounded memory and without
// allocating once warm. Ids are stored as 128-bit hashes (two maphash seeds), so memory
// does not depend on how long ids are and a false match is negligible (p ≈ 2n / 2¹²⁸).
//
// Events without an id of their own carry one derived from topic/partition/offset
// (decode.RecordID): a redelivered record has the same id and is dropped, while two
// distinct records with the same text (four identical failed logins) are both kept.
type dedup struct {
	n     int
	seeds [2]maphash.Seed
	parts map[partition]*idSet
}

// DefaultDedupEvents is the number of recent event ids remembered per partition: as far
// back as the default state replay reads (replay_events).
const DefaultDedupEvents = 20000

type idKey [2]uint64

type idSet struct {
	cur, prev map[idKey]struct{}
}

// newDedup remembers at least n ids per partition; n ≤ 0 turns it off (nil).
func newDedup(n int) *dedup {
	if n <= 0 {
		return nil
	}
	return &dedup{n: n, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, parts: map[partition]*idSet{}}
}

// seen reports whether id was seen in p recently, and remembers it if not. An empty id
// is never a duplicate. A nil dedup sees nothing.
func (d *dedup) seen(p partition, id string) bool {
	if d == nil || id == "" {
		return false
	}
	s := d.parts[p]
	if s == nil {
		s = &idSet{cur: make(map[idKey]struct{}, min(d.n, 1024)), prev: map[idKey]struct{}{}}
		d.parts[p] = s
	}
	k := idKey{maphash.String(d.seeds[0], id), maphash.String(d.seeds[1], id)}
	if _, ok := s.cur[k]; ok {
		return true
	}
	if _, ok := s.prev[k]; ok {
		return true
	}
	if len(s.cur) >= d.n {
		clear(s.prev)
		s.prev, s.cur = s.cur, s.prev
	}
	s.cur[k] = struct{}{}
	return false
}
