package sigmarules

import (
	"fmt"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

// TestCase is one example of a rule's logwarden.tests (docs/rules.md): exactly one of
// command (a command line run by user), file (a file read by user) or line (a raw log
// line), plus an optional user (default "alice").
type TestCase = map[string]string

// TestFailure is a rule example that did not behave as declared.
type TestFailure struct {
	Rule   *sigma.Rule
	Case   TestCase
	Want   bool // the example should match
	Reason string
}

func (f TestFailure) String() string {
	want := "match"
	if !f.Want {
		want = "not match"
	}
	return fmt.Sprintf("%s:%d: %s: should %s %v%s", f.Rule.File, f.Rule.Line, f.Rule.Title, want, f.Case, f.Reason)
}

// CaseEvent turns a test case into the parsed LogEvent it describes.
func CaseEvent(tc TestCase) (*logwardenpb.LogEvent, error) {
	user := tc["user"]
	if user == "" {
		user = "alice"
	}
	var line string
	n := 0
	for k, v := range tc {
		switch k {
		case "command":
			line = fmt.Sprintf("[05/Jan/2026 10:00:00] 10.0.0.5 %s executed command '%s'", user, v)
			n++
		case "file":
			line = fmt.Sprintf("[05/Jan/2026 10:00:00] 10.0.0.5 %s accessed file '%s'", user, v)
			n++
		case "line":
			line = v
			n++
		case "user":
		default:
			return nil, fmt.Errorf("unknown test key %q (want command, file, line, user)", k)
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("a test case needs exactly one of command, file, line")
	}
	ev := &logwardenpb.LogEvent{}
	logparse.New(logparse.Options{Now: func() time.Time { return time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC) }}).Parse(line, ev)
	return ev, nil
}

// RunTests checks every rule's examples: a match example must make the rule match (a
// correlation's examples are checked on its base rules), a nomatch example must not.
// It returns the number of examples run and the failures.
func RunTests(p *Pack) (int, []TestFailure) {
	var fails []TestFailure
	n := 0
	rules := p.Rules.Rules
	if p.Only != nil {
		rules = p.Only
	}
	for _, r := range rules {
		for _, want := range []bool{true, false} {
			cases := r.Extra.Match
			if !want {
				cases = r.Extra.NoMatch
			}
			for _, tc := range cases {
				n++
				ev, err := CaseEvent(tc)
				if err != nil {
					fails = append(fails, TestFailure{Rule: r, Case: tc, Want: want, Reason: ": " + err.Error()})
					continue
				}
				if got := matches(p, r, ev); got != want {
					fails = append(fails, TestFailure{Rule: r, Case: tc, Want: want})
				}
			}
		}
	}
	return n, fails
}

// matches reports whether rule r (or, for a correlation, one of its rules) matches ev.
func matches(p *Pack, r *sigma.Rule, ev *logwardenpb.LogEvent) bool {
	rules := []*sigma.Rule{r}
	if r.Correlation != nil {
		rules = r.Correlation.Rules
	}
	d := New(p, "", 10)
	for _, e := range d.mapper.Map(ev) {
		for _, x := range rules {
			if x.Match(&e) {
				return true
			}
		}
	}
	return false
}
