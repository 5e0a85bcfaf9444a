package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	first = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	last  = first.Add(time.Minute)
)

func notification(a *logwardenpb.Alert) notify.Notification {
	return notify.Notification{GroupKey: "fingerprint=" + a.GetFingerprint(), Alert: a, Count: 12, New: 12, FirstSeen: first, LastSeen: last}
}

func bruteForce() *logwardenpb.Alert {
	return &logwardenpb.Alert{Id: "a-1", Fingerprint: "fp-1", Severity: logwardenpb.Severity_SEVERITY_HIGH,
		Title: "Brute force against alice", Entity: "alice", Summary: "12 failed logins", Count: 12,
		RunbookUrl: "https://runbooks.example/brute-force",
		Findings:   []*logwardenpb.Finding{{Detector: "rules", RuleId: "brute_force", Reason: "12 failed logins from 10.0.0.5 in 60s"}},
		Evidence: []*logwardenpb.LogEvent{
			{Raw: "Nov 24 09:00:01 web1 sshd[811]: Failed password for alice from 10.0.0.5 port 2222 ssh2"},
			{Raw: "Nov 24 09:00:59 web1 sshd[811]: Failed password for alice from 10.0.0.5 port 2223 ssh2"},
		}}
}

// hostile puts attacker-controlled text everywhere log text can reach a message.
func hostile() *logwardenpb.Alert {
	const evil = "x <!channel> <!here> <@U123> <http://evil.example|click> ``` & `"
	return &logwardenpb.Alert{Id: "a-2" + evil, Fingerprint: "fp" + evil, Severity: logwardenpb.Severity_SEVERITY_CRITICAL,
		Title: "T" + evil, Entity: "E" + evil, Summary: "S" + evil, RunbookUrl: "javascript:alert(1)",
		Findings: []*logwardenpb.Finding{{Reason: "R" + evil}},
		Evidence: []*logwardenpb.LogEvent{{Raw: "L" + evil}}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n%s", name, got)
	}
}

func marshal(t *testing.T, v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		a    *logwardenpb.Alert
	}{{"brute_force", bruteForce()}, {"hostile", hostile()}} {
		n := notification(tt.a)
		golden(t, tt.name+".slack", marshal(t, Slack(n)))
		golden(t, tt.name+".json", marshal(t, JSON(n)))
		golden(t, tt.name+".txt", []byte(Terminal(n)))
		golden(t, tt.name+".teams", marshal(t, Teams(n)))
	}
}

// Every string Slack will parse as mrkdwn (or show) carries no live markup.
func TestNoLiveMarkup(t *testing.T) {
	m := Slack(notification(hostile()))
	var texts []string
	texts = append(texts, m.Text)
	add := func(bs []Block) {
		for _, b := range bs {
			if b.Text != nil {
				texts = append(texts, b.Text.Text)
			}
			for _, f := range append(b.Fields, b.Elements...) {
				texts = append(texts, f.Text)
			}
		}
	}
	add(m.Blocks)
	for _, a := range m.Attachments {
		add(a.Blocks)
	}
	for _, s := range texts {
		for _, bad := range []string{"<!channel>", "<!here>", "<@U123>", "<http", "evil.example|", "javascript:"} {
			if strings.Contains(s, bad) && !strings.Contains(s, "&lt;") {
				t.Errorf("live %q in %q", bad, s)
			}
			if strings.Contains(s, bad) && bad != "evil.example|" {
				t.Errorf("live %q in %q", bad, s)
			}
		}
		if strings.Count(s, "<") != strings.Count(s, "|Runbook>") {
			t.Errorf("unescaped < in %q", s)
		}
		if strings.Contains(s, "*Evidence*") && strings.Count(s, "```") != 2 {
			t.Errorf("evidence fence broken: %q", s)
		}
	}
	h := hostile()
	h.Title += " [click](http://evil.example)"
	tm := string(marshal(t, Teams(notification(h))))
	for _, bad := range []string{"<!", "<http", "[click]", "](", "javascript"} {
		if strings.Contains(tm, bad) {
			t.Errorf("Teams card carries live %q", bad)
		}
	}
	if strings.Contains(Terminal(notification(hostile())), "javascript") {
		t.Error("non-http runbook printed")
	}
}

func TestRunbookURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://runbooks.example/x": true, "http://wiki/x?a=1": true, "": false, "javascript:alert(1)": false,
		"https://x|click": false, "https://x>": false, "ftp://x/y": false, "https://": false, "https://u:p@x/": false,
		"//x/y": false, "https://x/ y": false,
	} {
		if got := RunbookURL(u) != ""; got != ok {
			t.Errorf("RunbookURL(%q) ok=%v, want %v", u, got, ok)
		}
	}
}

func TestLimits(t *testing.T) {
	a := bruteForce()
	a.Title = strings.Repeat("T", 500)
	a.Entity = strings.Repeat("<", 3000)
	for range 200 {
		a.Findings = append(a.Findings, &logwardenpb.Finding{Reason: strings.Repeat("r", 100) + time.Duration(len(a.Findings)).String()})
		a.Evidence = append(a.Evidence, &logwardenpb.LogEvent{Raw: strings.Repeat("&", 1000)})
	}
	m := Slack(notification(a))
	total := len(marshal(t, m))
	if total > MaxMessage {
		t.Errorf("payload %d bytes > %d", total, MaxMessage)
	}
	n := len(m.Blocks)
	for _, at := range m.Attachments {
		n += len(at.Blocks)
	}
	if n > MaxBlocks {
		t.Errorf("%d blocks", n)
	}
	if l := utf8.RuneCountInString(m.Blocks[0].Text.Text); l > MaxHeaderText {
		t.Errorf("header %d chars", l)
	}
	seenMarker := false
	for _, b := range m.Attachments[0].Blocks {
		texts := []*Text{b.Text}
		texts = append(texts, b.Fields...)
		for _, tx := range texts {
			if tx == nil {
				continue
			}
			if l := utf8.RuneCountInString(tx.Text); l > MaxSectionText {
				t.Errorf("section text %d chars", l)
			}
			if strings.Contains(tx.Text, Truncated) {
				seenMarker = true
			}
			if strings.Contains(tx.Text, "&amp") && strings.Count(tx.Text, "&") != strings.Count(tx.Text, ";") {
				t.Errorf("entity cut in half in %q…", tx.Text[:40])
			}
		}
	}
	if !seenMarker {
		t.Error("no truncation marker")
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghijklmnopqrstuvwxyz", 20, "abcdefg" + Truncated},
		{"abcd&amp;efghijklmnopq", 20, "abcd" + Truncated},
	} {
		if got := Clip(tt.in, tt.max); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func FuzzSlack(f *testing.F) {
	f.Add("<!channel>", "```", "https://x/y")
	f.Add("&lt;", "<@U1>", "javascript:1")
	f.Fuzz(func(t *testing.T, title, raw, runbook string) {
		a := &logwardenpb.Alert{Title: title, Entity: raw, RunbookUrl: runbook,
			Findings: []*logwardenpb.Finding{{Reason: raw}}, Evidence: []*logwardenpb.LogEvent{{Raw: raw}}}
		m := Slack(notification(a))
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "\\u003c!") || strings.Contains(s, "\\u003c@") {
			t.Fatalf("live mention in %s", s)
		}
	})
}

func BenchmarkSlack(b *testing.B) {
	b.ReportAllocs()
	n := notification(bruteForce())
	for i := 0; i < b.N; i++ {
		if _, err := json.Marshal(Slack(n)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
