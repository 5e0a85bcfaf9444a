package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func line(t *testing.T, p *logparse.Parser, s, id string) *logwardenpb.LogEvent {
	t.Helper()
	ev := &logwardenpb.LogEvent{Id: id}
	p.Parse(s, ev)
	return ev
}

func TestSensitiveBurstAlert(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	files := []string{"/etc/shadow", "/etc/sudoers", "/root/.ssh/id_rsa", "/home/veronica08/.aws/credentials"}
	var last Result
	for i, f := range files {
		last = eng.Process(line(t, p, "[05/Jan/2026 10:00:0"+string(rune('0'+i))+"] 10.10.1.2 veronica08 accessed file '"+f+"'", "e"+string(rune('0'+i))))
		if !last.Verdict.Anomalous {
			t.Fatalf("line %d not anomalous", i)
		}
	}
	var burst *logwardenpb.Finding
	for _, f := range last.Verdict.Findings {
		if f.RuleId == "sensitive-file-burst" {
			burst = f
		}
	}
	if burst == nil {
		t.Fatalf("no burst finding: %v", last.Verdict.Findings)
	}
	want := "veronica08: Burst of sensitive file reads: 4 distinct TargetFilename in 3s: /etc/shadow, /etc/sudoers, /root/.ssh/id_rsa, /home/veronica08/.aws/credentials"
	if burst.Reason != want {
		t.Fatalf("reason %q\nwant   %q", burst.Reason, want)
	}
	if last.Verdict.Severity != logwardenpb.Severity_SEVERITY_CRITICAL || last.Verdict.TemplateId == "" {
		t.Fatalf("verdict %v", last.Verdict)
	}
}

func TestAlertIDDeterministic(t *testing.T) {
	run := func() []string {
		eng, err := New(DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		p := logparse.New(logparse.Options{})
		var ids []string
		for i, cmd := range []string{"iptables -F", "iptables --flush"} {
			res := eng.Process(line(t, p, "[05/Jan/2026 10:00:0"+string(rune('0'+i))+"] 10.10.1.2 bob executed command '"+cmd+"'", "id"+cmd))
			for _, a := range res.Alerts {
				ids = append(ids, a.Id)
				if a.Entity != "bob" || a.Fingerprint != "rules/firewall-disable/bob" || a.Count != 1 || len(a.Evidence) != 1 || a.RunbookUrl == "" {
					t.Fatalf("alert %v", a)
				}
			}
		}
		return ids
	}
	a, b := run(), run()
	// the second dangerous command falls in the cooldown of the first alert
	if len(a) != 1 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("alert ids %v and %v", a, b)
	}
}

func TestBruteForceSSH(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{Now: func() time.Time { return t0 }})
	var alerts []*logwardenpb.Alert
	for i := 0; i < 6; i++ {
		res := eng.Process(line(t, p, "Jan  5 10:00:1"+string(rune('0'+i))+" srv sshd[42]: Failed password for root from 185.220.1.1 port 5555 ssh2", ""))
		if anomalous := i >= 4; res.Verdict.Anomalous != anomalous {
			t.Fatalf("attempt %d: anomalous %v", i, res.Verdict.Anomalous)
		}
		alerts = append(alerts, res.Alerts...)
	}
	if len(alerts) != 1 { // one alert per episode, the sixth attempt is in its cooldown
		t.Fatalf("alerts %v", alerts)
	}
	a := alerts[0]
	if a.Fingerprint != "rules/brute-force-ip/185.220.1.1" || a.Count != 5 || len(a.Evidence) != 5 {
		t.Fatalf("alert %v", a)
	}
}

func TestReasonsHaveNoControlCharacters(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := &logwardenpb.LogEvent{User: "bob\x1b[31m", Action: "command", Target: "rm -rf /\r\n@channel", Raw: "x", Time: timestamppb.New(t0)}
	res := eng.Process(ev)
	if !res.Verdict.Anomalous {
		t.Fatal("not anomalous")
	}
	for _, f := range res.Verdict.Findings {
		if strings.ContainsAny(f.Reason, "\x1b\r\n") {
			t.Fatalf("control character in %q", f.Reason)
		}
	}
}

const failRules = `title: Fail
name: fail
logsource: {product: linux}
detection:
    sel: {Action: login_failed}
    condition: sel
level: low
---
title: Failures
name: fails
correlation:
    type: event_count
    rules: [fail]
    group-by: [User]
    timespan: 1m
    condition: {gte: 3}
level: high
`

func TestReloadRules(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(file, []byte(failRules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RulesDir = dir
	eng, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fail := func(i int) Result {
		return eng.Process(&logwardenpb.LogEvent{User: "bob", Action: "login_failed", Raw: "f", Time: timestamppb.New(t0.Add(time.Duration(i) * time.Second))})
	}
	fail(0)
	fail(1)
	// a broken file: the error names file:line, the old rules stay
	if err := os.WriteFile(file, []byte(failRules+"---\ntitle: Broken\nlogsource: {product: linux}\ndetection:\n    sel: {Action: x}\n    condition: sel and nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := eng.ReloadRules(); err == nil || !strings.HasPrefix(err.Error(), file+":19: Broken: condition uses undefined search identifier") {
		t.Fatalf("reload error %v", err)
	}
	// same rules again: the window (2 failures) survives the reload
	if err := os.WriteFile(file, []byte(failRules), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := eng.ReloadRules(); err != nil {
		t.Fatal(err)
	}
	if res := fail(2); !res.Verdict.Anomalous {
		t.Fatalf("third failure after reload not anomalous: %v", res.Verdict)
	}
}

func TestBadRuleFileAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(file, []byte("title: X\nlogsource: {product: linux, category: process_creation}\ndetection:\n    sel:\n        CommandLine|re: '[a-'\n    condition: sel\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RulesDir = dir
	_, err := New(cfg, nil)
	if err == nil || !strings.HasPrefix(err.Error(), file+":1: X: sel: regular expression") {
		t.Fatalf("error %v", err)
	}
}
