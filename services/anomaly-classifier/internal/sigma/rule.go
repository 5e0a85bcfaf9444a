package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Logsource is a rule's logsource section.
type Logsource struct {
	Category, Product, Service string
}

func (l Logsource) String() string {
	var parts []string
	for _, kv := range [][2]string{{"product", l.Product}, {"category", l.Category}, {"service", l.Service}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return "any"
	}
	return strings.Join(parts, " ")
}

// Levels, least to most severe.
var Levels = []string{"informational", "low", "medium", "high", "critical"}

// Extra is the rule's optional `logwarden:` section (a Sigma custom attribute): the
// runbook family and the rule's test cases (docs/rules.md).
type Extra struct {
	Runbook string
	Match   []map[string]string // events the rule must flag
	NoMatch []map[string]string // events it must not flag
}

// Rule is a loaded Sigma detection or correlation rule.
type Rule struct {
	ID, Name, Title, Description string
	Status, Level, Author        string
	Date, Modified, License      string
	References, Tags             []string
	FalsePositives               []string
	Logsource                    Logsource
	File                         string
	Line                         int
	Extra                        Extra
	Correlation                  *Correlation // nil for a detection rule

	// Correlations lists the correlation rules that count this rule's matches.
	Correlations []*Rule
	// Silent: the rule only feeds correlations (referenced without generate: true).
	Silent bool

	cond    node
	anchors []anchor // nil: the rule is evaluated on every event of its log sources
	fields  []string // field names the detection tests
}

// Tests reports whether the rule's detection tests one of the named fields.
func (r *Rule) Tests(names ...string) bool {
	for _, f := range r.fields {
		if slices.Contains(names, f) {
			return true
		}
	}
	return false
}

// Ref is how the rule is cited: its id, else its name, else its title.
func (r *Rule) Ref() string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Name != "":
		return r.Name
	}
	return r.Title
}

// Match reports whether the detection rule matches e (false for correlation rules and
// rules of other log sources).
func (r *Rule) Match(e *Event) bool {
	return r.cond != nil && e.Source.Covers(r.Logsource) && r.cond.eval(e)
}

// Problem is a rule that was not loaded: skipped (unsupported feature) or rejected
// (malformed).
type Problem struct {
	File   string
	Line   int
	Rule   string // id or title, "" when the document could not be read
	Reason string
}

func (p *Problem) Error() string {
	if p.Rule != "" {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Rule, p.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// Options describe what the caller's taxonomy produces.
type Options struct {
	// Covered reports whether events of logsource l are produced at all.
	Covered func(l Logsource) bool
	// KnownField reports whether events of logsource l carry field name (Keywords for
	// the keyword text).
	KnownField func(l Logsource, name string) bool
}

// File is a rule file.
type File struct {
	Name string
	Data []byte
}

type loader struct {
	opts    Options
	file    string
	rules   []*Rule
	skipped []Problem
	errs    []Problem
}

func (l *loader) fail(line int, rule string, err error) {
	var u *unsupported
	p := Problem{File: l.file, Line: line, Rule: rule, Reason: err.Error()}
	if errors.As(err, &u) {
		l.skipped = append(l.skipped, p)
	} else {
		l.errs = append(l.errs, p)
	}
}

// yamlError turns a yaml.v3 error into line + message.
func yamlError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		num, after, _ := strings.Cut(rest, ":")
		if n, err := strconv.Atoi(num); err == nil {
			line, msg = n, strings.TrimSpace(after)
		}
	}
	return line, msg
}

func (l *loader) file1(name string, data []byte) {
	l.file = name
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return
		}
		if err != nil {
			line, msg := yamlError(err)
			l.errs = append(l.errs, Problem{File: name, Line: line, Reason: msg})
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			l.errs = append(l.errs, Problem{File: name, Line: root.Line, Reason: "a rule must be a mapping"})
			continue
		}
		r, err := l.rule(root)
		if err != nil {
			ref := ""
			if r != nil {
				ref = r.Ref()
			}
			l.fail(root.Line, ref, err)
			continue
		}
		l.rules = append(l.rules, r)
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

func scalar(n *yaml.Node, key string) (string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: %s: want a string", line(n), key)
	}
	return n.Value, nil
}

func strList(n *yaml.Node, key string) ([]string, error) {
	n = resolve(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: %s: want a list of strings", line(n), key)
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		c = resolve(c)
		if c == nil || c.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: want a string", line(c), key)
		}
		out = append(out, c.Value)
	}
	return out, nil
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func eachPair(n *yaml.Node, f func(k string, kn, v *yaml.Node) error) error {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", line(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := f(n.Content[i].Value, n.Content[i], resolve(n.Content[i+1])); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) rule(root *yaml.Node) (*Rule, error) {
	r := &Rule{File: l.file, Line: root.Line}
	var detection, corr *yaml.Node
	generate := false
	err := eachPair(root, func(k string, kn, v *yaml.Node) error {
		var err error
		switch k {
		case "title":
			r.Title, err = scalar(v, k)
		case "id":
			r.ID, err = scalar(v, k)
		case "name":
			r.Name, err = scalar(v, k)
		case "status":
			r.Status, err = scalar(v, k)
		case "description":
			r.Description, err = scalar(v, k)
		case "license":
			r.License, err = scalar(v, k)
		case "author":
			r.Author, err = scalar(v, k)
		case "date":
			r.Date, err = scalar(v, k)
		case "modified":
			r.Modified, err = scalar(v, k)
		case "references":
			r.References, err = strList(v, k)
		case "tags":
			r.Tags, err = strList(v, k)
		case "falsepositives":
			r.FalsePositives, err = strList(v, k)
		case "level":
			r.Level, err = scalar(v, k)
		case "taxonomy":
			var t string
			if t, err = scalar(v, k); err == nil && t != "sigma" {
				err = unsupportedf("taxonomy %q (only sigma)", t)
			}
		case "logsource":
			err = eachPair(v, func(k string, _, v *yaml.Node) error {
				s, err := scalar(v, "logsource."+k)
				switch k {
				case "category":
					r.Logsource.Category = s
				case "product":
					r.Logsource.Product = s
				case "service":
					r.Logsource.Service = s
				}
				return err
			})
		case "detection":
			detection = v
		case "correlation":
			corr = v
		case "generate":
			generate = v.Value == "true"
		case "filter":
			err = unsupportedf("Sigma filters (meta-rules) are not supported")
		case "logwarden":
			err = r.extra(v)
		}
		return err
	})
	if err != nil {
		return r, err
	}
	if r.Title == "" {
		return r, fmt.Errorf("title is required")
	}
	switch r.Level {
	case "":
		r.Level = "medium"
	case "informational", "low", "medium", "high", "critical":
	default:
		return r, fmt.Errorf("level %q: want informational, low, medium, high or critical", r.Level)
	}
	switch r.Status {
	case "deprecated", "unsupported":
		return r, unsupportedf("status %s", r.Status)
	}
	if corr != nil {
		c, err := parseCorrelation(corr)
		if err != nil {
			return r, err
		}
		c.Generate = c.Generate || generate
		r.Correlation = c
		return r, nil
	}
	if detection == nil {
		return r, fmt.Errorf("detection is required")
	}
	if l.opts.Covered != nil && !l.opts.Covered(r.Logsource) {
		return r, unsupportedf("log source %s is not produced by logwarden", r.Logsource)
	}
	if err := l.detection(r, detection); err != nil {
		return r, err
	}
	return r, nil
}

func (r *Rule) extra(n *yaml.Node) error {
	return eachPair(n, func(k string, _, v *yaml.Node) error {
		switch k {
		case "runbook":
			s, err := scalar(v, "logwarden.runbook")
			r.Extra.Runbook = s
			return err
		case "tests":
			return eachPair(v, func(k string, _, v *yaml.Node) error {
				var dst *[]map[string]string
				switch k {
				case "match":
					dst = &r.Extra.Match
				case "nomatch":
					dst = &r.Extra.NoMatch
				default:
					return fmt.Errorf("line %d: logwarden.tests: unknown key %q (want match, nomatch)", v.Line, k)
				}
				if v.Kind != yaml.SequenceNode {
					return fmt.Errorf("line %d: logwarden.tests.%s: want a list", v.Line, k)
				}
				for _, c := range v.Content {
					m := map[string]string{}
					if err := eachPair(c, func(k string, _, v *yaml.Node) error {
						s, err := scalar(v, "logwarden.tests."+k)
						m[k] = s
						return err
					}); err != nil {
						return err
					}
					*dst = append(*dst, m)
				}
				return nil
			})
		}
		return fmt.Errorf("line %d: logwarden: unknown key %q (want runbook, tests)", v.Line, k)
	})
}

// rawValue is one value of a detection item as written.
type rawValue struct {
	s    string
	null bool
}

func values(n *yaml.Node) ([]rawValue, error) {
	n = resolve(n)
	one := func(c *yaml.Node) (rawValue, error) {
		c = resolve(c)
		if c == nil || c.Kind != yaml.ScalarNode {
			return rawValue{}, fmt.Errorf("line %d: want a value or a list of values", line(c))
		}
		if c.Tag == "!!null" {
			return rawValue{null: true}, nil
		}
		return rawValue{s: c.Value}, nil
	}
	if n != nil && n.Kind == yaml.SequenceNode {
		out := make([]rawValue, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := one(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("line %d: empty list of values", n.Line)
		}
		return out, nil
	}
	v, err := one(n)
	if err != nil {
		return nil, err
	}
	return []rawValue{v}, nil
}

// fieldTest is one "Field|modifiers: values" item.
type fieldTest struct {
	field  string
	all    bool
	exists int8 // 1: must exist, -1: must not, 0: no existence test
	ms     []matcher
}

func (t *fieldTest) eval(e *Event) bool {
	vals := e.Values(t.field)
	if t.exists != 0 {
		return (len(vals) > 0) == (t.exists > 0)
	}
	if len(vals) == 0 {
		// An absent field equals '' and null.
		for i := range t.ms {
			if t.ms[i].kind == mNull || t.ms[i].kind == mEquals && t.ms[i].lit == "" {
				if !t.all {
					return true
				}
			} else if t.all {
				return false
			}
		}
		return t.all
	}
	if t.all {
		for i := range t.ms {
			ok := false
			for j := range vals {
				if t.ms[i].match(&vals[j]) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
		return true
	}
	for j := range vals {
		for i := range t.ms {
			if t.ms[i].match(&vals[j]) {
				return true
			}
		}
	}
	return false
}

// selNode is a search identifier: OR over maps, each an AND of field tests.
type selNode [][]fieldTest

func (s selNode) eval(e *Event) bool {
	for _, m := range s {
		ok := true
		for i := range m {
			if !m[i].eval(e) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (l *loader) detection(r *Rule, n *yaml.Node) error {
	ids := map[string]node{}
	var conds []string
	err := eachPair(n, func(k string, kn, v *yaml.Node) error {
		switch k {
		case "condition":
			c, err := strList(v, "condition")
			conds = c
			return err
		case "timeframe":
			return unsupportedf("timeframe: use a correlation rule")
		}
		sel, err := l.selection(r, v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		ids[k] = sel
		return nil
	})
	if err != nil {
		return err
	}
	if len(conds) == 0 {
		return fmt.Errorf("detection.condition is required")
	}
	var alts orNode
	for _, c := range conds {
		x, err := parseCondition(c, ids)
		if err != nil {
			return err
		}
		alts = append(alts, x)
	}
	if len(alts) == 1 {
		r.cond = alts[0]
	} else {
		r.cond = alts
	}
	r.anchors, _ = anchorsOf(r.cond)
	return nil
}

func (l *loader) selection(r *Rule, v *yaml.Node) (selNode, error) {
	switch v.Kind {
	case yaml.MappingNode:
		m, err := l.fieldMap(r, v)
		if err != nil {
			return nil, err
		}
		return selNode{m}, nil
	case yaml.SequenceNode:
		allMaps, allScalars := true, true
		for _, c := range v.Content {
			c = resolve(c)
			allMaps = allMaps && c != nil && c.Kind == yaml.MappingNode
			allScalars = allScalars && c != nil && c.Kind == yaml.ScalarNode
		}
		switch {
		case allMaps && len(v.Content) > 0:
			var out selNode
			for _, c := range v.Content {
				m, err := l.fieldMap(r, resolve(c))
				if err != nil {
					return nil, err
				}
				out = append(out, m)
			}
			return out, nil
		case allScalars:
			t, err := l.test(r, Keywords, nil, v)
			if err != nil {
				return nil, err
			}
			return selNode{{t}}, nil
		}
		return nil, fmt.Errorf("line %d: a list must hold only maps or only values", v.Line)
	case yaml.ScalarNode:
		t, err := l.test(r, Keywords, nil, v)
		if err != nil {
			return nil, err
		}
		return selNode{{t}}, nil
	}
	return nil, fmt.Errorf("line %d: unexpected node", v.Line)
}

func (l *loader) fieldMap(r *Rule, v *yaml.Node) ([]fieldTest, error) {
	var out []fieldTest
	err := eachPair(v, func(k string, kn, val *yaml.Node) error {
		parts := strings.Split(k, "|")
		t, err := l.test(r, parts[0], parts[1:], val)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

func (l *loader) test(r *Rule, field string, mods []string, v *yaml.Node) (fieldTest, error) {
	if !slices.Contains(r.fields, field) {
		r.fields = append(r.fields, field)
	}
	if l.opts.KnownField != nil && !l.opts.KnownField(r.Logsource, field) {
		if field == Keywords {
			return fieldTest{}, unsupportedf("keyword search: %s events carry no text to search", r.Logsource)
		}
		return fieldTest{}, unsupportedf("unknown field %q for log source %s", field, r.Logsource)
	}
	m, err := parseModifiers(mods)
	if err != nil {
		return fieldTest{}, err
	}
	t := fieldTest{field: field, all: m.all}
	if field == Keywords && !m.contains && !m.startswith && !m.endswith && !m.re {
		m.contains = true // keywords search the whole text
	}
	vals, err := values(v)
	if err != nil {
		return t, err
	}
	if m.exists {
		if len(vals) != 1 || (vals[0].s != "true" && vals[0].s != "false") {
			return t, fmt.Errorf("exists: want true or false")
		}
		t.exists = -1
		if vals[0].s == "true" {
			t.exists = 1
		}
		return t, nil
	}
	t.ms, err = compileValues(m, vals)
	return t, err
}

// Correlation is the correlation section of a correlation rule.
type Correlation struct {
	Type     string // event_count, value_count, temporal
	RuleRefs []string
	Rules    []*Rule // resolved RuleRefs
	GroupBy  []string
	Timespan time.Duration
	Field    string // value_count: the field whose distinct values are counted
	Cond     []Comparison
	Generate bool
	Aliases  map[string]map[string]string // alias → rule name → field
}

// Comparison is one condition criterion: Op is gt, gte or eq.
type Comparison struct {
	Op string
	N  int
}

// Holds reports whether n satisfies every criterion.
func (c *Correlation) Holds(n int) bool {
	for _, x := range c.Cond {
		switch x.Op {
		case "gt":
			if !(n > x.N) {
				return false
			}
		case "gte":
			if !(n >= x.N) {
				return false
			}
		case "eq":
			if n != x.N {
				return false
			}
		}
	}
	return true
}

// ParseTimespan reads a Sigma timespan: a number and one of s, m, h, d.
func ParseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("timespan %q: want a number and s, m, h or d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("timespan %q: want a positive number and s, m, h or d", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("timespan %q: want a number and s, m, h or d", s)
	}
	return time.Duration(n) * unit, nil
}

func parseCorrelation(n *yaml.Node) (*Correlation, error) {
	c := &Correlation{}
	var span string
	err := eachPair(n, func(k string, kn, v *yaml.Node) error {
		var err error
		switch k {
		case "type":
			c.Type, err = scalar(v, "correlation.type")
		case "rules":
			c.RuleRefs, err = strList(v, "correlation.rules")
		case "group-by":
			c.GroupBy, err = strList(v, "correlation.group-by")
		case "timespan":
			span, err = scalar(v, "correlation.timespan")
		case "generate":
			c.Generate = v.Value == "true"
		case "aliases":
			c.Aliases = map[string]map[string]string{}
			err = eachPair(v, func(alias string, _, v *yaml.Node) error {
				c.Aliases[alias] = map[string]string{}
				return eachPair(v, func(rule string, _, v *yaml.Node) error {
					f, err := scalar(v, "correlation.aliases")
					c.Aliases[alias][rule] = f
					return err
				})
			})
		case "condition":
			err = eachPair(v, func(op string, _, v *yaml.Node) error {
				s, err := scalar(v, "correlation.condition."+op)
				if err != nil {
					return err
				}
				switch op {
				case "field":
					c.Field = s
					return nil
				case "gt", "gte", "eq":
					x, err := strconv.Atoi(s)
					if err != nil {
						return fmt.Errorf("line %d: correlation.condition.%s: want an integer", v.Line, op)
					}
					c.Cond = append(c.Cond, Comparison{Op: op, N: x})
					return nil
				case "lt", "lte", "neq":
					return unsupportedf("correlation condition %s cannot fire on a stream of events", op)
				}
				return fmt.Errorf("line %d: correlation.condition: unknown key %q", v.Line, op)
			})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "event_count", "value_count":
		if len(c.Cond) == 0 {
			return nil, fmt.Errorf("correlation.condition is required for %s", c.Type)
		}
		if c.Type == "value_count" && c.Field == "" {
			return nil, fmt.Errorf("correlation.condition.field is required for value_count")
		}
	case "temporal":
	case "":
		return nil, fmt.Errorf("correlation.type is required")
	default:
		return nil, unsupportedf("correlation type %q (supported: event_count, value_count, temporal)", c.Type)
	}
	if len(c.RuleRefs) == 0 {
		return nil, fmt.Errorf("correlation.rules is required")
	}
	if span == "" {
		return nil, fmt.Errorf("correlation.timespan is required")
	}
	d, err := ParseTimespan(span)
	if err != nil {
		return nil, err
	}
	c.Timespan = d
	return c, nil
}
