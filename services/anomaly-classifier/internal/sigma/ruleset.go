package sigma

import (
	"fmt"
	"sort"
)

// Ruleset is a compiled, immutable set of rules.
type Ruleset struct {
	Rules   []*Rule   // loaded detection and correlation rules, in file order
	Skipped []Problem // rules left out for an unsupported feature, with the reason
	byRef   map[string]*Rule
}

// Load reads and compiles rule files. Rules that use unsupported features are listed in
// Ruleset.Skipped; malformed rules are returned as errs (file:line: message) and left
// out too, so a caller may still inspect what loaded.
func Load(files []File, opts Options) (rs *Ruleset, errs []Problem) {
	l := &loader{opts: opts}
	for _, f := range files {
		l.file1(f.Name, f.Data)
	}
	rs = &Ruleset{byRef: map[string]*Rule{}}
	ids := map[string]*Rule{}
	names := map[string]*Rule{}
	for _, r := range l.rules {
		if r.ID != "" {
			if prev, dup := ids[r.ID]; dup {
				l.errs = append(l.errs, Problem{File: r.File, Line: r.Line, Rule: r.Ref(),
					Reason: fmt.Sprintf("duplicate rule id (first in %s:%d)", prev.File, prev.Line)})
				continue
			}
			ids[r.ID] = r
		}
		if r.Name != "" {
			if prev, dup := names[r.Name]; dup {
				l.errs = append(l.errs, Problem{File: r.File, Line: r.Line, Rule: r.Ref(),
					Reason: fmt.Sprintf("duplicate rule name %q (first in %s:%d)", r.Name, prev.File, prev.Line)})
				continue
			}
			names[r.Name] = r
		}
		rs.Rules = append(rs.Rules, r)
	}
	skippedRefs := map[string]string{}
	for _, p := range l.skipped {
		if p.Rule != "" {
			skippedRefs[p.Rule] = p.Reason
		}
	}
	// Resolve correlations; drop those whose rules did not load.
	kept := rs.Rules[:0]
	for _, r := range rs.Rules {
		c := r.Correlation
		if c == nil {
			kept = append(kept, r)
			continue
		}
		var bad *Problem
		for _, ref := range c.RuleRefs {
			base := ids[ref]
			if base == nil {
				base = names[ref]
			}
			switch {
			case base == nil && skippedRefs[ref] != "":
				bad = &Problem{File: r.File, Line: r.Line, Rule: r.Ref(), Reason: fmt.Sprintf("refers to skipped rule %s (%s)", ref, skippedRefs[ref])}
			case base == nil:
				l.errs = append(l.errs, Problem{File: r.File, Line: r.Line, Rule: r.Ref(), Reason: fmt.Sprintf("correlation refers to unknown rule %q", ref)})
			case base.Correlation != nil:
				bad = &Problem{File: r.File, Line: r.Line, Rule: r.Ref(), Reason: "chained correlations are not supported"}
			default:
				c.Rules = append(c.Rules, base)
			}
		}
		if bad != nil {
			l.skipped = append(l.skipped, *bad)
			continue
		}
		if len(c.Rules) != len(c.RuleRefs) {
			continue
		}
		for _, b := range c.Rules {
			b.Correlations = append(b.Correlations, r)
			if !c.Generate {
				b.Silent = true
			}
		}
		kept = append(kept, r)
	}
	rs.Rules = kept
	for _, r := range rs.Rules {
		rs.byRef[r.Ref()] = r
	}
	rs.Skipped = l.skipped
	return rs, l.errs
}

// Rule returns the rule with that id (or name, or title for rules with neither).
func (rs *Ruleset) Rule(ref string) *Rule { return rs.byRef[ref] }

// anchor is a literal that must occur (lower-cased) in a field's value.
type anchor struct {
	field string
	lit   string
}

// anchorsOf returns literals one of which must occur for n to hold; ok is false when n
// can hold without any (negations, regular expressions, short literals).
func anchorsOf(n node) ([]anchor, bool) {
	switch n := n.(type) {
	case orNode:
		var out []anchor
		for _, x := range n {
			a, ok := anchorsOf(x)
			if !ok {
				return nil, false
			}
			out = append(out, a...)
		}
		return out, true
	case andNode:
		var best []anchor
		found := false
		for _, x := range n {
			if a, ok := anchorsOf(x); ok && (!found || better(a, best)) {
				best, found = a, true
			}
		}
		return best, found
	case selNode:
		var out []anchor
		for _, m := range n {
			var best []anchor
			found := false
			for i := range m {
				if a, ok := m[i].anchors(); ok && (!found || better(a, best)) {
					best, found = a, true
				}
			}
			if !found {
				return nil, false
			}
			out = append(out, best...)
		}
		return out, true
	}
	return nil, false
}

func (t *fieldTest) anchors() ([]anchor, bool) {
	if t.exists != 0 || len(t.ms) == 0 {
		return nil, false
	}
	if t.all {
		best := -1
		for i := range t.ms {
			if t.ms[i].anchor != "" && (best < 0 || len(t.ms[i].anchor) > len(t.ms[best].anchor)) {
				best = i
			}
		}
		if best < 0 {
			return nil, false
		}
		return []anchor{{t.field, t.ms[best].anchor}}, true
	}
	out := make([]anchor, 0, len(t.ms))
	for i := range t.ms {
		if t.ms[i].anchor == "" {
			return nil, false
		}
		out = append(out, anchor{t.field, t.ms[i].anchor})
	}
	return out, true
}

// better prefers the anchor set whose shortest literal is longer (fewer false hits),
// then the smaller set.
func better(a, b []anchor) bool {
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(a []anchor) int {
	m := 1 << 30
	for _, x := range a {
		m = min(m, len(x.lit))
	}
	return m
}

// router holds the detection rules that apply to one Source, with the automata that
// select candidates.
type router struct {
	rules  []*Rule
	always []int32 // rules without anchors
	fields []routeField
}

type routeField struct {
	name    string
	ac      *automaton
	rulesOf [][]int32 // pattern id → rules anchored on it
}

func (rs *Ruleset) router(src Source, keep func(*Rule) bool) *router {
	rt := &router{}
	pats := map[string][]string{}     // field → patterns
	pid := map[anchor]int{}           // (field, literal) → pattern id
	rulesOf := map[string][][]int32{} // field → pattern id → rules
	for _, r := range rs.Rules {
		if r.cond == nil || !src.Covers(r.Logsource) || keep != nil && !keep(r) {
			continue
		}
		i := int32(len(rt.rules))
		rt.rules = append(rt.rules, r)
		if r.anchors == nil {
			rt.always = append(rt.always, i)
			continue
		}
		for _, a := range r.anchors {
			k := a
			id, ok := pid[k]
			if !ok {
				id = len(pats[a.field])
				pid[k] = id
				pats[a.field] = append(pats[a.field], a.lit)
				rulesOf[a.field] = append(rulesOf[a.field], nil)
			}
			rs := rulesOf[a.field][id]
			if len(rs) == 0 || rs[len(rs)-1] != i {
				rulesOf[a.field][id] = append(rs, i)
			}
		}
	}
	names := make([]string, 0, len(pats))
	for f := range pats {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		rt.fields = append(rt.fields, routeField{name: f, ac: newAutomaton(pats[f]), rulesOf: rulesOf[f]})
	}
	return rt
}

// Matcher evaluates a Ruleset's detection rules on events. It caches per-source routing
// and scratch space: one Matcher per goroutine.
type Matcher struct {
	rs      *Ruleset
	keep    func(*Rule) bool
	routers map[Source]*router
	lastSrc Source
	last    *router
	mark    []uint32
	gen     uint32
	cands   []int32
	hits    []int32
}

// NewMatcher returns a Matcher over rs.
func (rs *Ruleset) NewMatcher() *Matcher { return rs.NewMatcherOf(nil) }

// NewMatcherOf returns a Matcher over the rules of rs that keep accepts (nil: all).
func (rs *Ruleset) NewMatcherOf(keep func(*Rule) bool) *Matcher {
	return &Matcher{rs: rs, keep: keep, routers: map[Source]*router{}}
}

// Match calls fn for every detection rule that matches e, in load order.
func (m *Matcher) Match(e *Event, fn func(*Rule)) {
	rt := m.last
	if rt == nil || e.Source != m.lastSrc {
		rt = m.routers[e.Source]
		if rt == nil {
			rt = m.rs.router(e.Source, m.keep)
			m.routers[e.Source] = rt
		}
		m.last, m.lastSrc = rt, e.Source
	}
	if len(rt.rules) == 0 {
		return
	}
	if len(m.mark) < len(rt.rules) {
		m.mark = make([]uint32, len(rt.rules))
		m.gen = 0
	}
	m.gen++
	if m.gen == 0 {
		clear(m.mark)
		m.gen = 1
	}
	m.cands = m.cands[:0]
	for fi := range rt.fields {
		f := &rt.fields[fi]
		vals := e.Values(f.name)
		for j := range vals {
			var ascii bool
			if m.hits, ascii = f.ac.scan(vals[j].Orig, m.hits[:0]); !ascii {
				m.hits, _ = f.ac.scan(vals[j].Lower(), m.hits[:0]) // non-ASCII case folding changes bytes
			}
			for _, p := range m.hits {
				for _, ri := range f.rulesOf[p] {
					if m.mark[ri] != m.gen {
						m.mark[ri] = m.gen
						m.cands = append(m.cands, ri)
					}
				}
			}
		}
	}
	m.cands = append(m.cands, rt.always...)
	if len(m.cands) > 1 {
		sortInt32(m.cands)
	}
	for _, ri := range m.cands {
		r := rt.rules[ri]
		if r.cond.eval(e) {
			fn(r)
		}
	}
}

func sortInt32(a []int32) {
	// insertion sort: candidate lists are short
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func isASCII(s string) bool {
	// no early exit: a branch-free loop is faster on the short, ASCII values it sees
	var or byte
	for i := 0; i < len(s); i++ {
		or |= s[i]
	}
	return or < 0x80
}
