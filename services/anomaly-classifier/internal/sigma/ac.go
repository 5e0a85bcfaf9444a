package sigma

// automaton is an Aho-Corasick automaton over bytes with a dense transition table on
// byte classes (bytes that occur in no pattern share one class), so a scan is one
// table lookup per input byte and allocates nothing.
type automaton struct {
	class   [256]uint8
	classes int
	delta   []int32   // state*classes + class → state
	out     [][]int32 // state → pattern ids that end here (suffix outputs merged)
}

func newAutomaton(patterns []string) *automaton {
	a := &automaton{}
	used := [256]bool{}
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	a.classes = 1 // class 0: bytes of no pattern
	for b := 0; b < 256; b++ {
		if used[b] {
			a.class[b] = uint8(a.classes)
			a.classes++
		}
		if a.classes > 255 {
			break
		}
	}
	// Patterns are lower case: upper-case ASCII input bytes share their lower-case
	// class, so a scan needs no lower-cased copy of ASCII text.
	for b := 'A'; b <= 'Z'; b++ {
		a.class[b] = a.class[b+'a'-'A']
	}
	// Trie with sparse children while building.
	type tnode struct {
		next map[uint8]int32
		out  []int32
	}
	nodes := []tnode{{next: map[uint8]int32{}}}
	for id, p := range patterns {
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
	a.delta = make([]int32, len(nodes)*nc)
	a.out = make([][]int32, len(nodes))
	fail := make([]int32, len(nodes))
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < nc; c++ {
		if n, ok := nodes[0].next[uint8(c)]; ok {
			a.delta[c] = n
			fail[n] = 0
			queue = append(queue, n)
		}
	}
	a.out[0] = nodes[0].out
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.out[s] = append(append([]int32(nil), nodes[s].out...), a.out[fail[s]]...)
		for c := 0; c < nc; c++ {
			if n, ok := nodes[s].next[uint8(c)]; ok {
				fail[n] = a.delta[int(fail[s])*nc+c]
				a.delta[int(s)*nc+c] = n
				queue = append(queue, n)
			} else {
				a.delta[int(s)*nc+c] = a.delta[int(fail[s])*nc+c]
			}
		}
	}
	return a
}

// scan appends to buf the ids of the patterns that occur in s, ignoring ASCII case
// (an id may repeat).
func (a *automaton) scan(s string, buf []int32) []int32 {
	nc := int32(a.classes)
	st := int32(0)
	for i := 0; i < len(s); i++ {
		st = a.delta[st*nc+int32(a.class[s[i]])]
		if o := a.out[st]; len(o) > 0 {
			buf = append(buf, o...)
		}
	}
	return buf
}
