package silence

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// maxValue bounds a matcher's value (an entity or a regular expression).
const maxValue = 1024

// Matcher is a compiled logwardenpb.Matcher.
type Matcher struct {
	Name    string
	Value   string
	IsRegex bool
	IsEqual bool
	re      *regexp.Regexp
}

// NewMatcher checks and compiles a matcher: a known label name, a value of at most 1 KiB
// and, for a regular expression, RE2 syntax (anchored: it must match the whole value).
func NewMatcher(name, value string, isRegex, isEqual bool) (Matcher, error) {
	m := Matcher{Name: name, Value: value, IsRegex: isRegex, IsEqual: isEqual}
	switch name {
	case LabelRule, LabelEntity, LabelHost, LabelSeverity:
	default:
		return Matcher{}, fmt.Errorf("matcher %q: unknown label (rule, entity, host, severity)", clip(name))
	}
	if len(value) > maxValue {
		return Matcher{}, fmt.Errorf("matcher %s: value longer than %d bytes", name, maxValue)
	}
	if isRegex {
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %s: %w", name, err)
		}
		m.re = re
	}
	return m, nil
}

// ParseMatcher reads the command line's form: name=value, name!=value, name=~regex or
// name!~regex; the value may be double-quoted.
func ParseMatcher(s string) (Matcher, error) {
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", clip(s))
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	var isRegex, isEqual bool
	switch {
	case strings.HasPrefix(rest, "=~"):
		isRegex, isEqual, rest = true, true, rest[2:]
	case strings.HasPrefix(rest, "!~"):
		isRegex, rest = true, rest[2:]
	case strings.HasPrefix(rest, "!="):
		rest = rest[2:]
	case strings.HasPrefix(rest, "="):
		isEqual, rest = true, rest[1:]
	default:
		return Matcher{}, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", clip(s))
	}
	if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
		v, err := strconv.Unquote(rest)
		if err != nil {
			return Matcher{}, fmt.Errorf("matcher %q: %w", clip(s), err)
		}
		rest = v
	}
	return NewMatcher(name, rest, isRegex, isEqual)
}

// Matches reports whether the matcher selects labels l.
func (m Matcher) Matches(l Labels) bool {
	v := l.Get(m.Name)
	var ok bool
	if m.re != nil {
		ok = m.re.MatchString(v)
	} else {
		ok = v == m.Value
	}
	return ok == m.IsEqual
}

// String is the command line's form, the value quoted.
func (m Matcher) String() string {
	op := "="
	switch {
	case m.IsRegex && m.IsEqual:
		op = "=~"
	case m.IsRegex:
		op = "!~"
	case !m.IsEqual:
		op = "!="
	}
	return m.Name + op + strconv.Quote(m.Value)
}

// Proto is the wire form.
func (m Matcher) Proto() *logwardenpb.Matcher {
	return &logwardenpb.Matcher{Name: m.Name, Value: m.Value, IsRegex: m.IsRegex, IsEqual: m.IsEqual}
}

// errMatchesAll refuses silences that would mute everything by accident (as
// Alertmanager does): some matcher must not select an empty label.
var errMatchesAll = errors.New("every matcher selects an alert without labels: at least one must not match the empty string")

func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.Quote(s)
}
