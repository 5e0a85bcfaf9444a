package rules

import (
	_ "embed"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

//go:embed default.yaml
var defaultRules []byte

// DefaultName is the file name errors use for the embedded default rules.
const DefaultName = "default.yaml"

// Default returns the shipped rules.
func Default() []byte { return append([]byte(nil), defaultRules...) }

// Rule is one validated rule.
type Rule struct {
	ID          string
	Title       string
	Description string
	RunbookURL  string
	Severity    logwardenpb.Severity
	Score       float64
	Threshold   *Threshold
	conds       []cond
}

// Threshold makes a rule fire only when enough matching events fall in a window.
type Threshold struct {
	Count    int
	Within   time.Duration
	Per      string // user | ip | host | entity
	Distinct string // "" or a field name: count distinct values instead of events
}

// Set is an ordered list of rules.
type Set struct {
	Rules []*Rule
}

// Load reads a rule file; an empty path means the shipped default.
func Load(file string) (*Set, error) {
	if file == "" {
		return Parse(DefaultName, defaultRules)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return Parse(file, data)
}

type posError struct {
	file string
	line int
	msg  string
}

func (e *posError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

type parser struct{ file string }

func (p parser) errf(n *yaml.Node, format string, args ...any) error {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	return &posError{file: p.file, line: line, msg: fmt.Sprintf(format, args...)}
}

// Parse validates a rule document. Errors read "file:line: message".
func Parse(file string, data []byte) (*Set, error) {
	p := parser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 1
		if _, rest, ok := strings.Cut(msg, "line "); ok {
			num, after, _ := strings.Cut(rest, ":")
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, strings.TrimSpace(after)
			}
		}
		return nil, &posError{file: file, line: line, msg: msg}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, p.errf(nil, "empty rule file")
	}
	root := doc.Content[0]
	var rulesNode *yaml.Node
	if err := p.mapping(root, func(k string, kn, v *yaml.Node) error {
		if k != "rules" {
			return p.errf(kn, "unknown key %q (want rules)", k)
		}
		rulesNode = v
		return nil
	}); err != nil {
		return nil, err
	}
	if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode {
		return nil, p.errf(root, "rules: want a list of rules")
	}
	set := &Set{}
	seen := map[string]int{}
	for _, rn := range rulesNode.Content {
		r, err := p.rule(rn)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[r.ID]; dup {
			return nil, p.errf(rn, "duplicate rule id %q (first at line %d)", r.ID, prev)
		}
		seen[r.ID] = rn.Line
		set.Rules = append(set.Rules, r)
	}
	return set, nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func (p parser) mapping(n *yaml.Node, f func(key string, kn, v *yaml.Node) error) error {
	n = resolve(n)
	if n == nil {
		return p.errf(nil, "want a mapping")
	}
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "want a mapping")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := f(n.Content[i].Value, n.Content[i], resolve(n.Content[i+1])); err != nil {
			return err
		}
	}
	return nil
}

func (p parser) str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errf(n, "%s: want a string", key)
	}
	return n.Value, nil
}

func (p parser) strs(n *yaml.Node, key string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "%s: want a string or a list of strings", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return nil, p.errf(c, "%s: want a string", key)
		}
		out = append(out, c.Value)
	}
	if len(out) == 0 {
		return nil, p.errf(n, "%s: empty list", key)
	}
	return out, nil
}

var idOK = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (p parser) rule(n *yaml.Node) (*Rule, error) {
	r := &Rule{Score: -1}
	var whenNode *yaml.Node
	err := p.mapping(n, func(k string, kn, v *yaml.Node) error {
		var err error
		switch k {
		case "id":
			r.ID, err = p.str(v, k)
			if err == nil && !idOK.MatchString(r.ID) {
				err = p.errf(v, "id %q: use lower-case letters, digits, '.', '_', '-'", r.ID)
			}
		case "title":
			r.Title, err = p.str(v, k)
		case "description":
			r.Description, err = p.str(v, k)
		case "runbook_url":
			r.RunbookURL, err = p.str(v, k)
			if err == nil && !strings.HasPrefix(r.RunbookURL, "https://") && !strings.HasPrefix(r.RunbookURL, "http://") {
				err = p.errf(v, "runbook_url: want an http(s) URL")
			}
		case "severity":
			var s string
			if s, err = p.str(v, k); err == nil {
				var ok bool
				if r.Severity, ok = ParseSeverity(s); !ok {
					err = p.errf(v, "severity %q: want info, low, medium, high or critical", s)
				}
			}
		case "score":
			var s string
			if s, err = p.str(v, k); err == nil {
				r.Score, err = strconv.ParseFloat(s, 64)
				if err != nil || r.Score < 0 || r.Score > 1 {
					err = p.errf(v, "score %q: want a number in 0..1", s)
				}
			}
		case "when":
			whenNode = v
		case "threshold":
			r.Threshold, err = p.threshold(v)
		default:
			err = p.errf(kn, "unknown key %q", k)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case r.ID == "":
		return nil, p.errf(n, "rule without id")
	case r.Title == "":
		return nil, p.errf(n, "rule %s: title is required", r.ID)
	case r.Severity == logwardenpb.Severity_SEVERITY_UNSPECIFIED:
		return nil, p.errf(n, "rule %s: severity is required", r.ID)
	case whenNode == nil:
		return nil, p.errf(n, "rule %s: when is required", r.ID)
	}
	if r.Score < 0 {
		r.Score = SeverityScore(r.Severity)
	}
	err = p.mapping(whenNode, func(field string, kn, v *yaml.Node) error {
		c, err := p.cond(field, kn, v)
		if err == nil {
			r.conds = append(r.conds, c)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(r.conds) == 0 {
		return nil, p.errf(whenNode, "rule %s: when has no condition", r.ID)
	}
	return r, nil
}

func (p parser) threshold(n *yaml.Node) (*Threshold, error) {
	t := &Threshold{Per: "entity"}
	err := p.mapping(n, func(k string, kn, v *yaml.Node) error {
		s, err := p.str(v, k)
		if err != nil {
			return err
		}
		switch k {
		case "count":
			t.Count, err = strconv.Atoi(s)
			if err != nil || t.Count < 1 || t.Count > 10000 {
				return p.errf(v, "count %q: want an integer in 1..10000", s)
			}
		case "within":
			t.Within, err = time.ParseDuration(s)
			if err != nil || t.Within <= 0 || t.Within > 24*time.Hour {
				return p.errf(v, "within %q: want a duration in (0, 24h], e.g. 2m", s)
			}
		case "per":
			switch s {
			case "user", "ip", "host", "entity":
				t.Per = s
			default:
				return p.errf(v, "per %q: want user, ip, host or entity", s)
			}
		case "distinct":
			if _, ok := getter(s); !ok {
				return p.errf(v, "distinct %q: unknown field", s)
			}
			t.Distinct = s
		default:
			return p.errf(kn, "unknown key %q in threshold", k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.Count == 0 || t.Within == 0 {
		return nil, p.errf(n, "threshold: count and within are required")
	}
	return t, nil
}

type cond struct {
	field string
	get   func(*logwardenpb.LogEvent, string) string
	ops   []func(string) bool // all must hold
}

func getter(field string) (func(*logwardenpb.LogEvent, string) string, bool) {
	switch field {
	case "raw":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetRaw() }, true
	case "user":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetUser() }, true
	case "ip":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetIp() }, true
	case "host":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetHost() }, true
	case "source":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetSource() }, true
	case "action":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetAction() }, true
	case "target":
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetTarget() }, true
	case "template":
		return func(_ *logwardenpb.LogEvent, t string) string { return t }, true
	}
	if name, ok := strings.CutPrefix(field, "fields."); ok && name != "" {
		return func(e *logwardenpb.LogEvent, _ string) string { return e.GetFields()[name] }, true
	}
	return nil, false
}

func (p parser) cond(field string, kn, n *yaml.Node) (cond, error) {
	get, ok := getter(field)
	if !ok {
		return cond{}, p.errf(kn, "unknown field %q (want raw, user, ip, host, source, action, target, template or fields.NAME)", field)
	}
	c := cond{field: field, get: get}
	if n.Kind == yaml.ScalarNode { // shorthand: field: value
		v := n.Value
		c.ops = append(c.ops, func(s string) bool { return s == v })
		return c, nil
	}
	err := p.mapping(n, func(op string, kn, v *yaml.Node) error {
		vals, err := p.strs(v, op)
		if err != nil {
			return err
		}
		var f func(string) bool
		switch op {
		case "equals", "in":
			if op == "equals" && len(vals) != 1 {
				return p.errf(v, "equals: want one value (use in for several)")
			}
			set := map[string]struct{}{}
			for _, x := range vals {
				set[x] = struct{}{}
			}
			f = func(s string) bool { _, ok := set[s]; return ok }
		case "not_in":
			set := map[string]struct{}{}
			for _, x := range vals {
				set[x] = struct{}{}
			}
			f = func(s string) bool { _, ok := set[s]; return !ok }
		case "contains":
			f = func(s string) bool {
				for _, x := range vals {
					if strings.Contains(s, x) {
						return true
					}
				}
				return false
			}
		case "glob":
			for _, g := range vals {
				if _, err := path.Match(g, ""); err != nil {
					return p.errf(v, "glob %q: %v", g, err)
				}
			}
			gs := make([]glob, len(vals))
			for i, g := range vals {
				gs[i] = newGlob(g)
			}
			f = func(s string) bool {
				for i := range gs {
					if gs[i].match(s) {
						return true
					}
				}
				return false
			}
		case "regex":
			res := make([]*regexp.Regexp, 0, len(vals))
			for _, x := range vals {
				re, err := regexp.Compile(x)
				if err != nil {
					return p.errf(v, "regex %q: %v", x, err)
				}
				res = append(res, re)
			}
			f = func(s string) bool {
				for _, re := range res {
					if re.MatchString(s) {
						return true
					}
				}
				return false
			}
		default:
			return p.errf(kn, "unknown operator %q (want equals, in, not_in, contains, glob or regex)", op)
		}
		c.ops = append(c.ops, f)
		return nil
	})
	if err == nil && len(c.ops) == 0 {
		err = p.errf(n, "%s: no operator", field)
	}
	return c, err
}

// Match reports whether every condition of r holds for ev (template is the
// event's template text).
func (r *Rule) Match(ev *logwardenpb.LogEvent, template string) bool {
	for i := range r.conds {
		c := &r.conds[i]
		v := c.get(ev, template)
		for _, op := range c.ops {
			if !op(v) {
				return false
			}
		}
	}
	return true
}

// Field returns the value of a field name accepted by rules.
func Field(ev *logwardenpb.LogEvent, template, field string) string {
	g, ok := getter(field)
	if !ok {
		return ""
	}
	return g(ev, template)
}

// ParseSeverity reads info, low, medium, high, critical.
func ParseSeverity(s string) (logwardenpb.Severity, bool) {
	switch strings.ToLower(s) {
	case "info":
		return logwardenpb.Severity_SEVERITY_INFO, true
	case "low":
		return logwardenpb.Severity_SEVERITY_LOW, true
	case "medium":
		return logwardenpb.Severity_SEVERITY_MEDIUM, true
	case "high":
		return logwardenpb.Severity_SEVERITY_HIGH, true
	case "critical":
		return logwardenpb.Severity_SEVERITY_CRITICAL, true
	}
	return 0, false
}

// SeverityScore is the default score of a finding of that severity.
func SeverityScore(s logwardenpb.Severity) float64 {
	switch s {
	case logwardenpb.Severity_SEVERITY_INFO:
		return 0.1
	case logwardenpb.Severity_SEVERITY_LOW:
		return 0.3
	case logwardenpb.Severity_SEVERITY_MEDIUM:
		return 0.6
	case logwardenpb.Severity_SEVERITY_HIGH:
		return 0.8
	case logwardenpb.Severity_SEVERITY_CRITICAL:
		return 0.95
	}
	return 0
}

// glob is a path.Match pattern with its literal prefix and suffix, checked
// first: most values fail there without running the matcher.
type glob struct {
	pattern, prefix, suffix string
	literal                 bool
}

func newGlob(p string) glob {
	i := strings.IndexAny(p, "*?[\\")
	if i < 0 {
		return glob{pattern: p, literal: true}
	}
	j := strings.LastIndexAny(p, "*?]\\")
	return glob{pattern: p, prefix: p[:i], suffix: p[j+1:]}
}

func (g *glob) match(s string) bool {
	if g.literal {
		return s == g.pattern
	}
	if len(s) < len(g.prefix)+len(g.suffix) || !strings.HasPrefix(s, g.prefix) || !strings.HasSuffix(s, g.suffix) {
		return false
	}
	ok, _ := path.Match(g.pattern, s)
	return ok
}
