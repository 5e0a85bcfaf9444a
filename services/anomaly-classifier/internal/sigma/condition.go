package sigma

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// node is a compiled condition.
type node interface {
	eval(e *Event) bool
}

type andNode []node
type orNode []node
type notNode struct{ x node }

func (n andNode) eval(e *Event) bool {
	for _, x := range n {
		if !x.eval(e) {
			return false
		}
	}
	return true
}

func (n orNode) eval(e *Event) bool {
	for _, x := range n {
		if x.eval(e) {
			return true
		}
	}
	return false
}

func (n notNode) eval(e *Event) bool { return !n.x.eval(e) }

// condParser parses a condition string over the detection's search identifiers.
type condParser struct {
	toks []string
	pos  int
	ids  map[string]node
}

func tokenize(s string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			out = append(out, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

func parseCondition(s string, ids map[string]node) (node, error) {
	if strings.Contains(s, "|") {
		return nil, unsupportedf("aggregation in condition (%q): use a correlation rule", s)
	}
	p := &condParser{toks: tokenize(s), ids: ids}
	if len(p.toks) == 0 {
		return nil, fmt.Errorf("empty condition")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("condition %q: unexpected %q", s, p.toks[p.pos])
	}
	return n, nil
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) or() (node, error) {
	var xs orNode
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if strings.ToLower(p.peek()) != "or" {
			break
		}
		p.pos++
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return xs, nil
}

func (p *condParser) and() (node, error) {
	var xs andNode
	for {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		if strings.ToLower(p.peek()) != "and" {
			break
		}
		p.pos++
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	return xs, nil
}

func (p *condParser) not() (node, error) {
	if strings.ToLower(p.peek()) == "not" {
		p.pos++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	return p.atom()
}

func (p *condParser) atom() (node, error) {
	t := p.peek()
	switch lt := strings.ToLower(t); {
	case t == "":
		return nil, fmt.Errorf("condition ends early")
	case t == "(":
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return x, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected )")
	case lt == "and" || lt == "or":
		return nil, fmt.Errorf("unexpected %q", t)
	case (lt == "1" || lt == "all" || lt == "any") && p.pos+2 < len(p.toks)+0 && strings.ToLower(p.toks[p.pos+1]) == "of":
		pattern := p.toks[p.pos+2]
		p.pos += 3
		var names []string
		for id := range p.ids {
			if pattern == "them" {
				if !strings.HasPrefix(id, "_") {
					names = append(names, id)
				}
			} else if ok, _ := path.Match(pattern, id); ok {
				names = append(names, id)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s of %s: no search identifier matches", t, pattern)
		}
		sort.Strings(names)
		xs := make([]node, len(names))
		for i, n := range names {
			xs[i] = p.ids[n]
		}
		if lt == "all" {
			return andNode(xs), nil
		}
		return orNode(xs), nil
	default:
		n, ok := p.ids[t]
		if !ok {
			return nil, fmt.Errorf("condition uses undefined search identifier %q", t)
		}
		p.pos++
		return n, nil
	}
}
