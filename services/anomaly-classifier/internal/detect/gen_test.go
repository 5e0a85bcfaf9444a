package detect

import (
	"math/rand/v2"
	"testing"
)

func TestGenBounded(t *testing.T) {
	g := NewGen[int, int](10)
	for i := 0; i < 1000; i++ {
		g.Put(i, i)
		if _, ok := g.Get(0); !ok { // used all the time: never forgotten
			t.Fatalf("key 0 forgotten after %d puts", i)
		}
		if g.Len() > 10 {
			t.Fatalf("%d keys held, want ≤ 10", g.Len())
		}
	}
	if _, ok := g.Peek(500); ok {
		t.Fatal("an old key is still held")
	}
	if v, ok := g.Peek(999); !ok || v != 999 {
		t.Fatalf("newest key: %v %v", v, ok)
	}
	if g.Evicted() < 980 {
		t.Fatalf("evicted %d", g.Evicted())
	}
	n := 0
	g.All(func(int, int) bool { n++; return true })
	if n != g.Len() {
		t.Fatalf("All visited %d of %d", n, g.Len())
	}
}

func TestSanitizeClip(t *testing.T) {
	if got := Sanitize("a\x1b[31mb\r\n\u2028c"); got != "a?[31mb???c" {
		t.Fatalf("Sanitize: %q", got)
	}
	if got := Clip("héllo", 2); got != "h…" {
		t.Fatalf("Clip cut a rune: %q", got)
	}
}

func TestHasherKeyed(t *testing.T) {
	a, b := NewHasher(), NewHasher()
	sum := func(h *Hasher, s string) uint64 { x := h.Start(); x.String(s); return x.Sum() }
	if sum(a, "ls -la") == sum(b, "ls -la") {
		t.Fatal("two random keys give the same hash")
	}
	b.SetKey(a.Key())
	if sum(a, "ls -la") != sum(b, "ls -la") || sum(a, "ls -la") == sum(a, "ls -lb") {
		t.Fatal("same key: hashes differ, or different data: same hash")
	}
	x := a.Start()
	x.Bytes([]byte("ls -la"))
	if x.Sum() != sum(a, "ls -la") {
		t.Fatal("Bytes and String of the same data differ")
	}
}

// refGen is the plain statement of Gen: a key in the newer generation is
// updated there; any other key moves to it, which first opens a new generation
// when it is full.
type refGen struct {
	max      int
	cur, old map[int]int
	evicted  int
}

func (g *refGen) put(k, v int) {
	if _, ok := g.cur[k]; ok {
		g.cur[k] = v
		return
	}
	delete(g.old, k)
	if len(g.cur) >= g.max/2 {
		g.evicted += len(g.old)
		g.old, g.cur = g.cur, map[int]int{}
	}
	g.cur[k] = v
}

func (g *refGen) get(k int) (int, bool) {
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

func TestGenMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	g, ref := NewGen[int, int](16), &refGen{max: 16, cur: map[int]int{}, old: map[int]int{}}
	for i := 0; i < 100000; i++ {
		k := rnd.IntN(40)
		if rnd.IntN(2) == 0 {
			g.Put(k, i)
			ref.put(k, i)
		} else {
			v, ok := g.Get(k)
			rv, rok := ref.get(k)
			if v != rv || ok != rok {
				t.Fatalf("step %d: Get(%d) = %d %v, want %d %v", i, k, v, ok, rv, rok)
			}
		}
		if len(g.cur) != len(ref.cur) || len(g.old) != len(ref.old) || g.evicted != ref.evicted {
			t.Fatalf("step %d: generations %d/%d evicted %d, want %d/%d %d", i, len(g.cur), len(g.old), g.evicted, len(ref.cur), len(ref.old), ref.evicted)
		}
	}
}
