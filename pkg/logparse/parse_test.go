package logparse

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// ref is the reference time for year-less syslog lines in these tests.
var ref = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func newTestParser() *Parser {
	return New(Options{Now: func() time.Time { return ref }})
}

type want struct {
	format, user, ip, action, target, host string
	time                                   time.Time // zero: no time parsed
	fields                                 map[string]string
}

func check(t *testing.T, line string, ev *logwardenpb.LogEvent, w want) {
	t.Helper()
	got := want{
		format: ev.GetFields()[FieldFormat], user: ev.GetUser(), ip: ev.GetIp(),
		action: ev.GetAction(), target: ev.GetTarget(), host: ev.GetHost(),
	}
	if got.format != w.format || got.user != w.user || got.ip != w.ip || got.action != w.action ||
		got.target != w.target || got.host != w.host {
		t.Errorf("Parse(%q)\n got  format=%q user=%q ip=%q action=%q target=%q host=%q\n want format=%q user=%q ip=%q action=%q target=%q host=%q",
			line, got.format, got.user, got.ip, got.action, got.target, got.host,
			w.format, w.user, w.ip, w.action, w.target, w.host)
	}
	switch {
	case w.time.IsZero() && ev.GetTime() != nil:
		t.Errorf("Parse(%q): time = %v, want none", line, ev.GetTime().AsTime())
	case !w.time.IsZero() && (ev.GetTime() == nil || !ev.GetTime().AsTime().Equal(w.time)):
		t.Errorf("Parse(%q): time = %v, want %v", line, ev.GetTime().AsTime(), w.time)
	}
	for k, v := range w.fields {
		if got, ok := ev.GetFields()[k]; !ok || got != v {
			t.Errorf("Parse(%q): fields[%q] = %q (present %v), want %q", line, k, got, ok, v)
		}
	}
}

func TestParseTutorial(t *testing.T) {
	ts := time.Date(2024, 2, 1, 14, 46, 21, 0, time.UTC)
	tests := []struct {
		name string
		line string
		want want
	}{
		{"file without ip (seed form)", "[01/Feb/2024 14:46:21] veronica08 accessed file 'concern.html'",
			want{format: FormatTutorial, user: "veronica08", action: ActionFileAccess, target: "concern.html", time: ts}},
		{"login with ip", "[01/Feb/2024 14:46:21] 192.168.1.20 veronica08 logged in successfully",
			want{format: FormatTutorial, user: "veronica08", ip: "192.168.1.20", action: ActionLogin, time: ts}},
		{"failed login", "[01/Feb/2024 14:46:21] 10.0.0.7 bob failed to log in",
			want{format: FormatTutorial, user: "bob", ip: "10.0.0.7", action: ActionLoginFailed, time: ts}},
		{"command", "[01/Feb/2024 14:46:21] 10.0.0.7 bob executed command 'ls -la /tmp'",
			want{format: FormatTutorial, user: "bob", ip: "10.0.0.7", action: ActionCommand, target: "ls -la /tmp", time: ts}},
		{"command with quotes inside", "[01/Feb/2024 14:46:21] 10.0.0.7 bob executed command 'sh -c 'id''",
			want{format: FormatTutorial, user: "bob", ip: "10.0.0.7", action: ActionCommand, target: "sh -c 'id'", time: ts}},
		{"directory", "[01/Feb/2024 14:46:21] 10.0.0.7 bob accessed directory '/var/www/html'",
			want{format: FormatTutorial, user: "bob", ip: "10.0.0.7", action: ActionDirAccess, target: "/var/www/html", time: ts}},
		{"ipv6", "[01/Feb/2024 14:46:21] 2001:db8::1 bob logged in successfully",
			want{format: FormatTutorial, user: "bob", ip: "2001:db8::1", action: ActionLogin, time: ts}},
		{"dotted user is not an ip", "[01/Feb/2024 14:46:21] john.smith accessed file 'a.txt'",
			want{format: FormatTutorial, user: "john.smith", action: ActionFileAccess, target: "a.txt", time: ts}},
		{"unknown verb keeps who", "[01/Feb/2024 14:46:21] 10.0.0.7 bob rebooted the server",
			want{format: FormatTutorial, user: "bob", ip: "10.0.0.7", time: ts}},
		{"bad date is raw", "[31/Feb/2024 14:46:21] bob logged in successfully", want{format: FormatRaw}},
		{"bad hour is raw", "[01/Feb/2024 25:46:21] bob logged in successfully", want{format: FormatRaw}},
		{"no user is raw", "[01/Feb/2024 14:46:21] ", want{format: FormatRaw}},
	}
	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			check(t, tt.line, ev, tt.want)
			if ev.GetRaw() != tt.line {
				t.Errorf("raw = %q, want the line", ev.GetRaw())
			}
		})
	}
}

func TestParseAuthAndSyslog(t *testing.T) {
	dec10 := func(h, m, s int) time.Time { return time.Date(2025, 12, 10, h, m, s, 0, time.UTC) }
	tests := []struct {
		name string
		line string
		want want
	}{
		// Lines from loghub OpenSSH_2k.log; Dec 10 is 16 days after the reference: last year.
		{"invalid user", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
			want{format: FormatAuth, user: "webmaster", ip: "173.234.31.186", action: ActionLoginFailed, host: "LabSZ", time: dec10(6, 55, 46),
				fields: map[string]string{"syslog.program": "sshd", "syslog.pid": "24200", "ssh.invalid_user": "true"}}},
		{"failed password root", "Dec 10 07:13:43 LabSZ sshd[24227]: Failed password for root from 5.36.59.76 port 42393 ssh2",
			want{format: FormatAuth, user: "root", ip: "5.36.59.76", action: ActionLoginFailed, host: "LabSZ", time: dec10(7, 13, 43),
				fields: map[string]string{"ssh.method": "password", "ssh.port": "42393"}}},
		{"failed password invalid user", "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
			want{format: FormatAuth, user: "webmaster", ip: "173.234.31.186", action: ActionLoginFailed, host: "LabSZ", time: dec10(6, 55, 48),
				fields: map[string]string{"ssh.invalid_user": "true", "ssh.port": "38926"}}},
		{"message repeated", "Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
			want{format: FormatAuth, user: "root", ip: "5.36.59.76", action: ActionLoginFailed, host: "LabSZ", time: dec10(7, 13, 56),
				fields: map[string]string{"syslog.repeated": "5"}}},
		{"accepted password", "Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
			want{format: FormatAuth, user: "fztu", ip: "119.137.62.142", action: ActionLogin, host: "LabSZ", time: dec10(9, 32, 20),
				fields: map[string]string{"ssh.method": "password"}}},
		{"accepted publickey", "Mar  3 10:00:01 bastion sshd[1]: Accepted publickey for deploy from 10.1.2.3 port 5000 ssh2: ED25519 SHA256:abc",
			want{format: FormatAuth, user: "deploy", ip: "10.1.2.3", action: ActionLogin, host: "bastion", time: time.Date(2026, 3, 3, 10, 0, 1, 0, time.UTC),
				fields: map[string]string{"ssh.method": "publickey", "ssh.port": "5000"}}},
		{"pam failure keeps ip and user", "Dec 10 06:55:48 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186  user=root",
			want{format: FormatAuth, user: "root", ip: "173.234.31.186", host: "LabSZ", time: dec10(6, 55, 48)}},
		{"reverse mapping ip in brackets", "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
			want{format: FormatAuth, ip: "173.234.31.186", host: "LabSZ", time: dec10(6, 55, 46)}},
		{"received disconnect", "Dec 10 07:07:45 LabSZ sshd[24206]: Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]",
			want{format: FormatAuth, ip: "52.80.34.196", host: "LabSZ", time: dec10(7, 7, 45)}},
		{"sudo command", "Nov 20 10:11:12 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow ; echo",
			want{format: FormatAuth, user: "alice", action: ActionSudo, target: "/usr/bin/cat /etc/shadow ; echo", host: "web1",
				time:   time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC),
				fields: map[string]string{"sudo.tty": "pts/0", "sudo.pwd": "/home/alice", "sudo.run_as": "root"}}},
		{"sudo refused", "Nov 20 10:11:12 web1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
			want{format: FormatAuth, user: "bob", action: ActionSudo, target: "/bin/bash", host: "web1",
				time:   time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC),
				fields: map[string]string{"sudo.error": "3 incorrect password attempts"}}},
		{"rfc3339 sshd-session", "2026-11-24T05:59:58.123456+01:00 host2 sshd-session[99]: Invalid user admin from 2001:db8::7 port 22",
			want{format: FormatAuth, user: "admin", ip: "2001:db8::7", action: ActionLoginFailed, host: "host2",
				time: time.Date(2026, 11, 24, 4, 59, 58, 123456000, time.UTC)}},
		{"plain syslog with pri", "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			want{format: FormatAuth, host: "mymachine", time: time.Date(2026, 10, 11, 22, 14, 15, 0, time.UTC),
				fields: map[string]string{"syslog.program": "su"}}},
		{"cron is syslog", "Nov 23 23:59:01 web1 CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)",
			want{format: FormatSyslog, host: "web1", time: time.Date(2026, 11, 23, 23, 59, 1, 0, time.UTC),
				fields: map[string]string{"syslog.program": "CRON", "syslog.pid": "4242"}}},
		{"no tag", "Nov 23 23:59:01 web1 kernel message without tag",
			want{format: FormatSyslog, host: "web1", time: time.Date(2026, 11, 23, 23, 59, 1, 0, time.UTC)}},
		{"bad month is raw", "Foo 23 23:59:01 web1 x: y", want{format: FormatRaw}},
	}
	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			check(t, tt.line, ev, tt.want)
		})
	}
}

func TestParseKeepsHostGivenBySource(t *testing.T) {
	ev := &logwardenpb.LogEvent{Host: "shipper-host"}
	newTestParser().Parse("Nov 23 23:59:01 web1 CRON[1]: x", ev)
	if ev.GetHost() != "shipper-host" {
		t.Fatalf("host = %q, want the source's", ev.GetHost())
	}
}

func TestParseCombined(t *testing.T) {
	tests := []struct {
		name string
		line string
		want want
	}{
		{"combined", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`,
			want{format: FormatCombined, user: "frank", ip: "127.0.0.1", action: ActionHTTPRequest, target: "/apache_pb.gif",
				time: time.Date(2000, 10, 10, 20, 55, 36, 0, time.UTC),
				fields: map[string]string{"http.method": "GET", "http.status": "200", "http.bytes": "2326", "http.protocol": "HTTP/1.0",
					"http.referer": "http://www.example.com/start.html", "http.user_agent": "Mozilla/4.08 [en] (Win98; I ;Nav)"}}},
		{"nginx, no user, escaped quote", `203.0.113.9 - - [24/Nov/2026:06:01:02 +0000] "GET /.env?x=\"a\" HTTP/1.1" 404 153 "-" "curl/8.5.0"`,
			want{format: FormatCombined, ip: "203.0.113.9", action: ActionHTTPRequest, target: `/.env?x=\"a\"`,
				time:   time.Date(2026, 11, 24, 6, 1, 2, 0, time.UTC),
				fields: map[string]string{"http.status": "404", "http.user_agent": "curl/8.5.0"}}},
		{"common log format", `web.example.org - - [24/Nov/2026:06:01:02 +0100] "POST /login HTTP/2.0" 302 -`,
			want{format: FormatCombined, action: ActionHTTPRequest, target: "/login",
				time:   time.Date(2026, 11, 24, 5, 1, 2, 0, time.UTC),
				fields: map[string]string{"http.remote_host": "web.example.org", "http.method": "POST", "http.bytes": "-"}}},
		{"garbage request", `198.51.100.1 - - [24/Nov/2026:06:01:02 +0000] "\x16\x03\x01" 400 0 "-" "-"`,
			want{format: FormatCombined, ip: "198.51.100.1", action: ActionHTTPRequest, target: `\x16\x03\x01`,
				time: time.Date(2026, 11, 24, 6, 1, 2, 0, time.UTC)}},
		{"bad status is raw", `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" OK 1`, want{format: FormatRaw}},
	}
	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			check(t, tt.line, ev, tt.want)
		})
	}
}

func TestParseRaw(t *testing.T) {
	tests := []struct {
		name string
		line string
		want want
	}{
		{"apache error 2.2 (loghub)", "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
			want{format: FormatRaw, time: time.Date(2005, 12, 4, 4, 47, 44, 0, time.UTC), fields: map[string]string{"log.level": "error"}}},
		{"apache error 2.4 with client", "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708] [client 192.0.2.4:51234] AH00037: Symbolic link not allowed",
			want{format: FormatRaw, ip: "192.0.2.4", time: time.Date(2000, 10, 11, 14, 32, 52, 123456000, time.UTC), fields: map[string]string{"log.level": "error"}}},
		{"hdfs", "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating",
			want{format: FormatRaw}},
		{"zookeeper", "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200",
			want{format: FormatRaw, time: time.Date(2015, 7, 29, 17, 41, 44, 747000000, time.UTC)}},
		{"ISO with T and zone", "2024-01-02T03:04:05.5+01:00 INFO [main] started",
			want{format: FormatRaw, time: time.Date(2024, 1, 2, 2, 4, 5, 500000000, time.UTC)}},
		{"ISO with Z", "2024-01-02T03:04:05Z ERROR db down", want{format: FormatRaw, time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"nginx error log", "2024/01/02 03:04:05 [error] 123#0: *1 open() failed",
			want{format: FormatRaw, time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"Windows CBS", "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack",
			want{format: FormatRaw, time: time.Date(2016, 9, 28, 4, 30, 30, 0, time.UTC)}},
		{"not a date", "2024-13-02 03:04:05 x", want{format: FormatRaw}},
		{"Feb 30", "2024-02-30 03:04:05 x", want{format: FormatRaw}},
		{"empty", "", want{format: FormatRaw}},
		{"bracket only", "[", want{format: FormatRaw}},
	}
	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			check(t, tt.line, ev, tt.want)
		})
	}
}

func TestParseRepairsAndCuts(t *testing.T) {
	p := New(Options{MaxLineBytes: 16, Now: func() time.Time { return ref }})
	tests := []struct {
		name          string
		line          string
		raw           string
		truncated     bool
		invalidUTF8   bool
		wantRawMaxLen int
	}{
		{"short and valid", "hello\r\n", "hello", false, false, 16},
		{"invalid byte", "a\xffb", "a\uFFFDb", false, true, 16},
		{"long", strings.Repeat("x", 40), strings.Repeat("x", 16), true, false, 16},
		// 15 x then a 3-byte rune: cutting at 16 would split it.
		{"cut at rune boundary", strings.Repeat("x", 15) + "€€", strings.Repeat("x", 15), true, false, 16},
		// Repair grows the line (1 byte → 3): it is cut again.
		{"repair then cut", strings.Repeat("a\xff", 8), strings.Repeat("a\uFFFD", 4), true, true, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			if ev.GetRaw() != tt.raw {
				t.Errorf("raw = %q, want %q", ev.GetRaw(), tt.raw)
			}
			if got := ev.GetFields()[FieldTruncated] == "true"; got != tt.truncated {
				t.Errorf("truncated = %v, want %v", got, tt.truncated)
			}
			if got := ev.GetFields()[FieldInvalidUTF8] == "true"; got != tt.invalidUTF8 {
				t.Errorf("invalid_utf8 = %v, want %v", got, tt.invalidUTF8)
			}
			if len(ev.GetRaw()) > tt.wantRawMaxLen {
				t.Errorf("raw is %d bytes, over the limit", len(ev.GetRaw()))
			}
		})
	}
}

func TestParseDefaultLimitIs64KiB(t *testing.T) {
	ev := &logwardenpb.LogEvent{}
	New(Options{}).Parse(strings.Repeat("a", 10<<20), ev)
	if len(ev.GetRaw()) != 64<<10 || ev.GetFields()[FieldTruncated] != "true" {
		t.Fatalf("10 MiB line: raw %d bytes, truncated=%q", len(ev.GetRaw()), ev.GetFields()[FieldTruncated])
	}
}

func TestParseResetsFieldsOfAReusedEvent(t *testing.T) {
	p := newTestParser()
	ev := &logwardenpb.LogEvent{}
	p.Parse("[01/Feb/2024 14:46:21] 10.0.0.7 bob executed command 'id'", ev)
	p.Parse("plain text", ev)
	if ev.GetUser() != "" || ev.GetIp() != "" || ev.GetAction() != "" || ev.GetTarget() != "" {
		t.Fatalf("stale parsed fields: %v", ev)
	}
}

// TestParseLoghubSamples runs real public logs through the parser (testdata/loghub, from
// github.com/logpai/loghub): every OpenSSH line is an auth line of Dec 10 from host LabSZ,
// and the actions add up to what grep finds; every Apache error line gets its time and level.
func TestParseLoghubSamples(t *testing.T) {
	p := newTestParser()
	t.Run("OpenSSH", func(t *testing.T) {
		counts := map[string]int{}
		n := 0
		eachLine(t, "testdata/loghub/OpenSSH_400.log", func(line string) {
			n++
			ev := &logwardenpb.LogEvent{}
			p.Parse(line, ev)
			if f := ev.GetFields()[FieldFormat]; f != FormatAuth || ev.GetHost() != "LabSZ" {
				t.Fatalf("%q: format %q host %q", line, f, ev.GetHost())
			}
			if tm := ev.GetTime().AsTime(); tm.Year() != 2025 || tm.Month() != time.December || tm.Day() != 10 {
				t.Fatalf("%q: time %v", line, tm)
			}
			counts[ev.GetAction()]++
			wantFailed := strings.Contains(line, "Invalid user ") || strings.Contains(line, ": Failed ") ||
				strings.Contains(line, "[ Failed ")
			if wantFailed != (ev.GetAction() == ActionLoginFailed) {
				t.Errorf("%q: action %q", line, ev.GetAction())
			}
			if ev.GetAction() != "" && (ev.GetIp() == "" || ev.GetUser() == "") {
				t.Errorf("%q: login line without user or ip: %v", line, ev)
			}
		})
		if n != 400 || counts[ActionLoginFailed] < 100 {
			t.Fatalf("lines %d, actions %v", n, counts)
		}
	})
	t.Run("Apache", func(t *testing.T) {
		eachLine(t, "testdata/loghub/Apache_400.log", func(line string) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(line, ev)
			lvl := ev.GetFields()["log.level"]
			if ev.GetFields()[FieldFormat] != FormatRaw || ev.GetTime().AsTime().Year() != 2005 ||
				(lvl != "notice" && lvl != "error") {
				t.Fatalf("%q: %v", line, ev)
			}
		})
	})
}

func eachLine(t *testing.T, path string, fn func(string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fn(sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestValidDay(t *testing.T) {
	tests := []struct {
		y    int
		m    time.Month
		d    int
		want bool
	}{
		{2024, time.February, 29, true}, {2023, time.February, 29, false}, {2000, time.February, 29, true},
		{1900, time.February, 29, false}, {2023, time.April, 31, false}, {2023, time.December, 31, true},
		{2023, time.January, 0, false}, {1, time.January, 1, true}, {0, time.January, 1, false}, {10000, time.January, 1, false},
	}
	for _, tt := range tests {
		if got := validDay(tt.y, tt.m, tt.d); got != tt.want {
			t.Errorf("validDay(%d, %s, %d) = %v, want %v", tt.y, tt.m, tt.d, got, tt.want)
		}
	}
}
