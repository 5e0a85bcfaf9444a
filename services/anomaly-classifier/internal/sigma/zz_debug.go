package sigma

import "fmt"

func (m *Matcher) DebugRouter(src Source) string {
	rt := m.rs.router(src, m.keep)
	s := fmt.Sprintf("src=%+v rules=%d always=%d", src, len(rt.rules), len(rt.always))
	for _, f := range rt.fields {
		s += fmt.Sprintf(" [%q pats=%d states=%d classes=%d]", f.name, len(f.rulesOf), len(f.ac.out), f.ac.classes)
	}
	for _, i := range rt.always {
		s += "\n   always: " + rt.rules[i].Title + " " + fmt.Sprint(rt.rules[i].fields)
	}
	return s
}

func (m *Matcher) DebugPatterns(src Source, field string) []string {
	rt := m.rs.router(src, m.keep)
	var out []string
	for _, r := range rt.rules {
		for _, a := range r.anchors {
			if a.field == field {
				out = append(out, a.lit)
			}
		}
	}
	return out
}
