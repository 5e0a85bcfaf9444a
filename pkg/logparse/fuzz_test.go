package logparse

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[01/Feb/2024 14:46:21] 192.168.1.20 veronica08 accessed file 'concern.html'",
		"[01/Feb/2024 14:46:21] veronica08 executed command 'a'b'",
		"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
		"Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
		"<34>Feb 29 10:11:12 web1 sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
		"2026-11-24T05:59:58+01:00 h sshd-session[9]: Accepted publickey for a from ::1 port 1 ssh2",
		`127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a HTTP/1.0" 200 2326 "r" "u"`,
		"[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1] [client 192.0.2.4:51234] x",
		"a\xffb",
		"- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS KERNEL FATAL data TLB error interrupt",
		`{"level":"error","msg":"x","log":{"level":50}}`,
		"E1201 12:34:56.789012   12345 reflector.go:138] x",
		"03-17 16:13:38.811  1702  2395 D WindowManager: x",
		"W/Tag(  586): x",
		"<191>1 x level=warn [error] Info error : y",
		"2024-01-02T03:04:05.123456789+14:00 INFO x",
		"2015-07-29 17:41:44,747 - WARN  [x] - y",
		"",
	} {
		f.Add(s)
	}
	p := New(Options{MaxLineBytes: 256, Now: func() time.Time { return ref }})
	f.Fuzz(func(t *testing.T, line string) {
		ev := &logwardenpb.LogEvent{}
		p.Parse(line, ev)
		raw := ev.GetRaw()
		if !utf8.ValidString(raw) || len(raw) > 256 {
			t.Fatalf("raw %q: valid %v, %d bytes", raw, utf8.ValidString(raw), len(raw))
		}
		switch ev.GetFields()[FieldFormat] {
		case FormatTutorial, FormatSyslog, FormatAuth, FormatCombined, FormatRaw:
		default:
			t.Fatalf("format %q", ev.GetFields()[FieldFormat])
		}
		// Parsed values are pieces of the (repaired) line.
		for _, v := range []string{ev.GetUser(), ev.GetIp(), ev.GetTarget(), ev.GetHost()} {
			if !strings.Contains(raw, v) {
				t.Fatalf("parsed %q is not in the line %q", v, raw)
			}
		}
		if _, ok := logwardenpb.LogLevel_name[int32(ev.GetLevel())]; !ok {
			t.Fatalf("level %d out of the enum", ev.GetLevel())
		}
		// a level needs a marker in the line: a level word, a letter column, a PRI or a status
		if ev.GetLevel() != logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED && ev.GetFields()[FieldFormat] == FormatTutorial {
			t.Fatalf("tutorial line %q got level %v", raw, ev.GetLevel())
		}
		if ev.GetTime() != nil && !ev.GetTime().IsValid() {
			t.Fatalf("invalid time %v", ev.GetTime())
		}
	})
}
