package sigma

// automaton finds which of a set of lower-case patterns occur in a text, ignoring
// ASCII case, without allocating.
//
// Most positions of a log line start no pattern: a bitmap of the byte pairs that
// patterns start with rules out about nine positions in ten (Loghub, the tutorial
// format, the message event's ~160 keywords) with one lookup in an 8 KiB table that
// stays in the L1 cache, and only at the others a walk down the patterns' trie
// reports the patterns starting there. A full Aho-Corasick scan instead makes one
// lookup per byte in a transition table of thousands of states × dozens of byte
// classes (close to a megabyte for the keywords), so most bytes missed L1: it was
// the largest single cost of the rule stage.
type automaton struct {
	class   [256]uint8 // byte → class; 0: in no pattern; A-Z share the class of a-z
	classes int
	pairs   [1 << 16 / 64]uint64 // bit class(b0)<<8|class(b1): a pattern starts with b0 b1
	// next is the trie: state*classes + class → child<<1 | 1 when patterns end at the
	// child (saves a lookup in out on every step), 0 when there is no child (the root is 0)
	next []int32
	out  [][]int32 // state → ids of the patterns that end there
	// short: some pattern is shorter than two bytes, so the pair bitmap cannot rule
	// positions out (anchors are at least two bytes; other callers may not be)
	short bool
}

func newAutomaton(patterns []string) *automaton {
	a := &automaton{}
	fold := func(b byte) byte {
		if b >= 'A' && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	used := [256]bool{}
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[fold(p[i])] = true
		}
	}
	// At most 256 - 26 byte values once A-Z are folded, plus class 0: a uint8.
	a.classes = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.class[b] = uint8(a.classes)
			a.classes++
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		a.class[b] = a.class[b+'a'-'A']
	}
	// Trie with sparse children while building, then a dense table.
	type tnode struct {
		next map[uint8]int32
		out  []int32
	}
	nodes := []tnode{{next: map[uint8]int32{}}}
	for id, p := range patterns {
		a.short = a.short || len(p) < 2
		if len(p) >= 2 {
			k := uint(a.class[p[0]])<<8 | uint(a.class[p[1]])
			a.pairs[k/64] |= 1 << (k % 64)
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := a.class[p[i]]
			n, ok := nodes[s].next[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, tnode{next: map[uint8]int32{}})
				nodes[s].next[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	nc := a.classes
	a.next = make([]int32, len(nodes)*nc)
	a.out = make([][]int32, len(nodes))
	for s := range nodes {
		for c, n := range nodes[s].next {
			v := n << 1
			if len(nodes[n].out) > 0 {
				v |= 1
			}
			a.next[s*nc+int(c)] = v
		}
		a.out[s] = nodes[s].out
	}
	return a
}

// scan appends to buf the ids of the patterns that occur in s, ignoring ASCII case
// (an id may repeat). ascii reports whether s is ASCII: when it is not, folding A-Z
// is not enough (É is é) and the caller scans the lower-case form of s instead;
// scan tells it while reading the bytes anyway.
func (a *automaton) scan(s string, buf []int32) (_ []int32, ascii bool) {
	if a.short {
		buf = append(buf, a.out[0]...) // the empty pattern
		for i := 0; i < len(s); i++ {
			buf = a.walk(s[i:], buf)
		}
		return buf, isASCII(s)
	}
	if len(s) == 0 {
		return buf, true
	}
	hi := s[0]
	c1 := uint(a.class[s[0]])
	for i := 1; i < len(s); i++ {
		hi |= s[i]
		c0 := c1
		c1 = uint(a.class[s[i]])
		if k := c0<<8 | c1; a.pairs[k/64]&(1<<(k%64)) != 0 {
			buf = a.walk(s[i-1:], buf)
		}
	}
	return buf, hi < 0x80
}

// walk appends the ids of the patterns that s starts with.
func (a *automaton) walk(s string, buf []int32) []int32 {
	nc := a.classes
	st := 0
	for i := 0; i < len(s); i++ {
		v := a.next[st*nc+int(a.class[s[i]])]
		if v == 0 {
			break
		}
		st = int(v >> 1)
		if v&1 != 0 {
			buf = append(buf, a.out[st]...)
		}
	}
	return buf
}
