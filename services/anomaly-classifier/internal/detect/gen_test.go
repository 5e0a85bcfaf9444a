package detect

import "testing"

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
