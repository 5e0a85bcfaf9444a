package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"
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

// rich has every optional part: LLM summary, ATT&CK ids, rule author, false positives.
func rich() *logwardenpb.Alert {
	a := bruteForce()
	a.LlmSummary = "Likely password spraying from one address; the account was not accessed."
	a.Findings[0].AttackIds = []string{"T1110.001", "T1110"}
	a.Findings[0].RuleAuthor = "Security Team"
	a.Findings[0].FalsePositives = []string{"a user who forgot a changed password", "monitoring probes"}
	return a
}

func overflow() notify.Notification {
	o := &notify.Overflow{}
	for i := range 40 {
		sev := logwardenpb.Severity_SEVERITY_LOW
		if i%4 == 0 {
			sev = logwardenpb.Severity_SEVERITY_MEDIUM
		}
		o.Add(notify.Notification{New: 2, Alert: &logwardenpb.Alert{Severity: sev, Title: fmt.Sprint("junk <!here> ", i%3)}})
	}
	return notify.Notification{GroupKey: "overflow", Alert: &logwardenpb.Alert{Severity: logwardenpb.Severity_SEVERITY_MEDIUM},
		Count: 80, New: 80, FirstSeen: first, LastSeen: last, Overflow: o}
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    notify.Notification
	}{
		{"brute_force", notification(bruteForce())}, {"hostile", notification(hostile())},
		{"rich", notification(rich())}, {"overflow", overflow()},
	} {
		golden(t, tt.name+".slack", marshal(t, Slack(tt.n)))
		golden(t, tt.name+".json", marshal(t, JSON(tt.n)))
		golden(t, tt.name+".txt", []byte(Terminal(tt.n)))
		golden(t, tt.name+".teams", marshal(t, Teams(tt.n)))
	}
}

// texts are every text object of m, with where it sits.
func texts(m Message) []*Text {
	var out []*Text
	add := func(bs []Block) {
		for _, b := range bs {
			if b.Text != nil {
				out = append(out, b.Text)
			}
			out = append(out, b.Fields...)
			for _, e := range b.Elements {
				switch e := e.(type) {
				case *Text:
					out = append(out, e)
				case *Button:
					out = append(out, e.Text)
				}
			}
		}
	}
	add(m.Blocks)
	for _, a := range m.Attachments {
		add(a.Blocks)
	}
	return out
}

var (
	codeBlockRE = regexp.MustCompile("```\n[^`]*\n```")
	codeSpanRE  = regexp.MustCompile("`[^`\n]*`")
)

// outsideCode is s without its code blocks and code spans: the text Slack formats.
func outsideCode(s string) string {
	return codeSpanRE.ReplaceAllString(codeBlockRE.ReplaceAllString(s, "```…```"), "`…`")
}

// Every string Slack will parse as mrkdwn (or show) carries no live markup.
func TestNoLiveMarkup(t *testing.T) {
	m := Slack(notification(hostile()))
	all := append([]*Text{{Type: "mrkdwn", Text: m.Text, Verbatim: true}}, texts(m)...)
	for _, tx := range all {
		s := tx.Text
		for _, bad := range []string{"<!channel>", "<!here>", "<@U123>", "<http", "javascript:"} {
			if strings.Contains(s, bad) {
				t.Errorf("live %q in %q", bad, s)
			}
		}
		if strings.Count(s, "<") != strings.Count(s, "|Runbook>") {
			t.Errorf("unescaped < in %q", s)
		}
		if strings.Contains(s, "*Evidence*") && strings.Count(s, "```") != 2 {
			t.Errorf("evidence fence broken: %q", s)
		}
		if tx.Type == "mrkdwn" && !tx.Verbatim {
			t.Errorf("mrkdwn text not verbatim (Slack would link bare URLs): %q", s)
		}
		if tx.Type == "plain_text" && (tx.Emoji == nil || *tx.Emoji) {
			t.Errorf("plain_text without emoji: false (Slack would render :codes:): %q", s)
		}
	}
	h := hostile()
	h.Title += " [click](http://evil.example)"
	tm := string(marshal(t, Teams(notification(h)).Attachments[0].Content.Body))
	for _, bad := range []string{"<!", "<http", "[click]", "](", "javascript", "http://"} {
		if strings.Contains(tm, bad) {
			t.Errorf("Teams card carries live %q", bad)
		}
	}
	if strings.Contains(Terminal(notification(hostile())), "javascript") {
		t.Error("non-http runbook printed")
	}
}

// Log content cannot style the message, render an emoji, link a bare URL, reorder text
// with bidi controls, hide text behind zero-width characters or forge a line.
func TestUntrustedTextIsInert(t *testing.T) {
	const evil = "eve\u202egnp.exe z\u200bw\ufeff :rotating_light: *bold* _it_ ~strike~ `tick` > quote https://evil.example/login www.evil.example #general\x1b[31m"
	a := &logwardenpb.Alert{Id: "a-3", Fingerprint: "fp-3", Severity: logwardenpb.Severity_SEVERITY_HIGH,
		Title: "T " + evil, Entity: "E " + evil, LlmSummary: "S " + evil,
		Findings: []*logwardenpb.Finding{{Reason: "R " + evil, RuleAuthor: "A " + evil, FalsePositives: []string{"F " + evil}}},
		Evidence: []*logwardenpb.LogEvent{{Raw: "line one " + evil + "\nFORGED second line\r\nthird"}}}
	m := Slack(notification(a))
	for _, tx := range append([]*Text{{Type: "mrkdwn", Text: m.Text}}, texts(m)...) {
		s := tx.Text
		for _, r := range s {
			if r == '\n' {
				continue
			}
			if unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
				t.Errorf("format/control character %U in %q", r, s)
			}
		}
		if tx.Type == "plain_text" {
			if strings.Contains(s, "://") || strings.Contains(s, "evil.example") {
				t.Errorf("header carries a linkable URL: %q", s)
			}
			continue
		}
		out := outsideCode(s)
		for _, bad := range []string{"rotating_light:", "*bold*", "_it_", "~strike~", "evil", "quote", "#general", "FORGED"} {
			if strings.Contains(out, bad) {
				t.Errorf("%q outside a code span in %q", bad, s)
			}
		}
	}
	var ev string
	for _, tx := range texts(m) {
		if strings.HasPrefix(tx.Text, "*Evidence*") {
			ev = tx.Text
		}
	}
	if got := strings.Count(ev, "\n"); got != 3 { // label, fence, one line, fence
		t.Errorf("evidence has %d line breaks, want 3 (one event = one line): %q", got, ev)
	}
	if !strings.Contains(ev, "evegnp.exe") || !strings.Contains(ev, "line one") || !strings.Contains(ev, LineBreak+"FORGED") {
		t.Errorf("evidence lost text: %q", ev)
	}
}

func TestSanitize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"eve\u202egnp.exe", "evegnp.exe"},
		{"a\u2066b\u2069c\u200ed\u200ff\u061c", "abcdf"},
		{"z\u200bw\u200cj\u200dn\u2060\ufeffx", "zwjnx"},
		{"tag\U000E0041\U000E007F", "tag"},
		{"a\nb\r\nc\rd\u2028e\u0085f", "a␤b␤c␤d␤e␤f"},
		{"tab\there", "tab here"},
		{"esc\x1b[31m bell\a del\x7f c1\u009b", "esc\ufffd[31m bell\ufffd del\ufffd c1\ufffd"},
		{"bad \xff utf8", "bad \ufffd utf8"},
		{"ünïcødé 日本 😀", "ünïcødé 日本 😀"},
	} {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefang(t *testing.T) {
	for in, want := range map[string]string{
		"https://evil.example/login": "https[:]//evil[.]example/login",
		"www.evil.example":           "www[.]evil[.]example",
		"10.0.0.5 v1.2.3":            "10.0.0.5 v1.2.3",
		"end. Next":                  "end. Next",
		"/etc/shadow.bak":            "/etc/shadow[.]bak",
	} {
		if got := Defang(in); got != want {
			t.Errorf("Defang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAttackLinks(t *testing.T) {
	for id, want := range map[string]string{
		"T1059":       "https://attack.mitre.org/techniques/T1059/",
		"T1059.004":   "https://attack.mitre.org/techniques/T1059/004/",
		"T1059.4":     "",
		"t1059":       "",
		"T1059.004x":  "",
		"T1059|x>":    "",
		"javascript:": "",
	} {
		if got := AttackURL(id); got != want {
			t.Errorf("AttackURL(%q) = %q, want %q", id, got, want)
		}
	}
	a := &logwardenpb.Alert{Findings: []*logwardenpb.Finding{
		{AttackIds: []string{"T1059.004", "<http://evil.example|T1>", "T1003"}},
		{AttackIds: []string{"T1003", "T1110"}},
	}}
	if got := fmt.Sprint(AttackIDs(a)); got != "[T1059.004 T1003 T1110]" {
		t.Errorf("AttackIDs = %s", got)
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

// FuzzSlack: whatever the log content, it only ever changes what is inside code spans
// and code blocks (the rest of every mrkdwn text is the same as for harmless input), the
// header is sanitized and defanged plain text, every mrkdwn object is verbatim, no
// mention or link comes from it, one event is one evidence line, and nothing panics.
func FuzzSlack(f *testing.F) {
	f.Add("<!channel>", "```", "https://x/y", "T1059.004", ":smile: *b*")
	f.Add("&lt;", "<@U1>", "javascript:1", "T1", "a\u202eb")
	f.Add("eve\u202egnp.exe", "a\nFORGED", "", "T1059|<x>", "https://evil.example _i_ ~s~ > q")
	f.Fuzz(func(t *testing.T, title, raw, runbook, attack, summary string) {
		mk := func(title, raw, summary string) Message {
			a := &logwardenpb.Alert{Title: title, Entity: raw, RunbookUrl: runbook, LlmSummary: summary,
				Findings: []*logwardenpb.Finding{{Reason: raw, AttackIds: []string{attack}, RuleAuthor: raw, FalsePositives: []string{raw}}},
				Evidence: []*logwardenpb.LogEvent{{Raw: raw}, {Raw: title}}}
			return Slack(notification(a))
		}
		m := mk(title, raw, summary)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "\\u003c!") || strings.Contains(s, "\\u003c@") || strings.Contains(s, "\\u003c#") {
			t.Fatalf("live mention in %s", s)
		}
		like := func(s string) string { // harmless text, blank where s is
			if strings.TrimSpace(s) == "" {
				return s[:min(len(s), 1)]
			}
			return "x"
		}
		ref := texts(mk(like(title), like(raw), like(summary)))
		got := texts(m)
		if len(got) != len(ref) {
			t.Fatalf("%d text objects, want %d: log content changed the structure", len(got), len(ref))
		}
		for i, tx := range got {
			for _, r := range tx.Text {
				if r != '\n' && (unicode.Is(unicode.Cf, r) || unicode.IsControl(r)) {
					t.Fatalf("format/control character %U in %q", r, tx.Text)
				}
			}
			if !utf8.ValidString(tx.Text) {
				t.Fatalf("invalid UTF-8 in %q", tx.Text)
			}
			if tx.Type == "plain_text" {
				if tx.Emoji == nil || *tx.Emoji || strings.Contains(tx.Text, "://") || strings.ContainsAny(tx.Text, "<>") {
					t.Fatalf("header %+v", tx)
				}
				continue
			}
			if !tx.Verbatim {
				t.Fatalf("mrkdwn not verbatim: %q", tx.Text)
			}
			if outsideCode(tx.Text) != outsideCode(ref[i].Text) {
				t.Fatalf("log content outside code:\n got %q\nwant %q", outsideCode(tx.Text), outsideCode(ref[i].Text))
			}
			for _, span := range append(codeSpanRE.FindAllString(tx.Text, -1), codeBlockRE.FindAllString(tx.Text, -1)...) {
				if strings.ContainsAny(span, "<>") {
					t.Fatalf("unescaped markup in %q", span)
				}
			}
			if strings.HasPrefix(tx.Text, "*Evidence*") && strings.Count(tx.Text, "\n") != 4 {
				t.Fatalf("evidence of 2 events is not 2 lines: %q", tx.Text)
			}
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
