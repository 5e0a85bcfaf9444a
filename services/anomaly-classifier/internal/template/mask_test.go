package template

import (
	"bytes"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"words stay", "session closed for user", "session closed for user"},
		{"white space", "  spaced\tout  ", "spaced out"},
		{"empty", "", ""},
		{"integer", "child 6725 in slot 10", "child <*> in slot <*>"},
		{"signed and decimal", "delta -12 ratio 0.25 exp 1e-5 and +3", "delta <*> ratio <*> exp <*> and <*>"},
		{"thousands", "read 1,234,567 rows", "read <*>,<*>,<*> rows"},
		{"number with unit attached", "took 120ms for 4KB at 67C", "took <*> for <*> at <*>"},
		{"number and unit words", "sent 451 bytes in 3 sec", "sent <*> in <*>"},
		{"size with an alternative", "1190 bytes (1.16 KB) sent", "<*> sent"},
		{"below one", "lifetime <1 sec", "lifetime <*>"},
		{"percent", "cpu 93 % busy", "cpu <*> busy"},
		{"hex with 0x", "at 0x1b9c6ae0, mask 0x40", "at <*>, mask <*>"},
		{"hex without 0x", "digest deadbeefcafebabe ok, hash a64f992", "digest <*> ok, hash <*>"},
		{"hex word too short", "a bad facade", "a bad facade"},
		{"ipv4", "from 173.234.31.186 port 22", "from <*> port <*>"},
		{"ipv4 in brackets", "for host [173.234.31.186] failed", "for host [<*>] failed"},
		{"ipv4 with port and slash", "src: /10.250.19.102:54106", "src: <*>"},
		{"ipv6", "connect to 2001:db8::1 and fe80::1ff:fe23:4567:890a", "connect to <*> and <*>"},
		{"host and port", "proxy.cse.cuhk.edu.hk:5070 open", "<*> open"},
		{"host name", "reverse mapping for ns.example.com failed", "reverse mapping for <*> failed"},
		{"code name stays", "at org.apache.Foo.run and android.intent.action.SCREEN_ON", "at org.apache.Foo.run and android.intent.action.SCREEN_ON"},
		{"named host and port", "listening on localhost:8080", "listening on localhost:<*>"},
		{"mac", "mac 00:1A:2b:3c:4D:5e and 00-1a-2b-3c-4d-5e", "mac <*> and <*>"},
		{"uuid", "request 123e4567-e89b-12d3-a456-426614174000 done", "request <*> done"},
		{"uuid without digits in a group", "instance b9000564-fe1a-409b-bbcc-1e88b294cd1d", "instance <*>"},
		{"unix path", "opened /var/log/syslog", "opened <*>"},
		{"relative path", "run ./bin/start.sh and a/b/c", "run <*> and <*>"},
		{"windows path", `loaded C:\Windows\System32\cbs.dll`, "loaded <*>"},
		{"url", "fetch https://example.com/a/b ok", "fetch <*> ok"},
		{"email", "mail from alice@example.com", "mail from <*>"},
		{"date and time", "at 2005-07-10 03:55:21,123 and 10/07/2005", "at <*> and <*>"},
		{"iso timestamp", "since 2005-07-10T03:55:21.123Z", "since <*>"},
		{"date in words", "connection at Sun Jul 10 03:55:21 2005 closed", "connection at <*> closed"},
		{"syslog date", "Jul 10 03:55:21 up", "<*> up"},
		{"month name alone stays", "May I help", "May I help"},
		{"duration", "lifetime 00:02 left", "lifetime <*> left"},
		{"key=value", "uid=0 euid=1000 tty=ssh ruser= rhost=1.2.3.4", "uid=<*> euid=<*> tty=ssh ruser= rhost=<*>"},
		{"key=value lists", "lock=233570404, flags=0x1, ws=null", "lock=<*>, flags=<*>, ws=null"},
		{"key:value", "index:0 sshd:auth Error:KeeperErrorCode", "index:<*> sshd:auth Error:KeeperErrorCode"},
		{"key: value", "status: 200 len: 1893 time: 0.2477829", "status: <*> len: <*> time: <*>"},
		{"ids with a prefix", "blk_-1608999687919862906 and node-246, from core.2275", "<*> and <*>, from <*>"},
		{"word glued to a number", "via eth0 and ssh2", "via eth<*> and ssh<*>"},
		{"names in capitals stay", "through SOCKS5 with SHA256 over HTTPS", "through SOCKS5 with SHA256 over HTTPS"},
		{"hex in capitals", "id 7F1A2B3C", "id <*>"},
		{"quoted string", "accessed file '/home/bob/my file.txt' now", "accessed file <*> now"},
		{"quoted value", `tag="View Lock", name=android`, "tag=<*>, name=android"},
		{"apostrophe", "Can't find child 6725", "Can't find child <*>"},
		{"request line keeps its verb", `"GET /v2/servers/detail HTTP/1.1" status: 200`, `"GET <*> HTTP/1.1" status: <*>`},
		{"unterminated quote", `say "hello world`, `say "hello world`},
		{"empty brackets are an empty value", "connection from 10.0.0.1 () at 10:00", "connection from <*> at <*>"},
		{"an empty value like a full one", "connection from 10.0.0.1 (a.example.com) at 10:00", "connection from <*> at <*>"},
		{"neighbouring values collapse", "nodes 10.0.0.1 10.0.0.2 10.0.0.3 down", "nodes <*> down"},
		{"long values capped", "x " + strings.Repeat("a", 5), "x aaaaa"},
	}
	m := NewMasker() // one for all lines: its reused memory must not leak from one line to the next
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(Mask(tt.in, nil), " "); got != tt.want {
				t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(bytes.Join(m.Forms(tt.in, nil), []byte(" "))); got != tt.want {
				t.Errorf("Masker.Forms(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestMaskBounds: a line of many words costs at most maxTokens tokens.
func TestMaskBounds(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 3*maxWords; i++ {
		b.WriteString("w")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(" ")
	}
	toks := Mask(b.String(), nil)
	if len(toks) != maxTokens || toks[len(toks)-1] != Wildcard {
		t.Fatalf("%d tokens (last %q), want %d ending in %s", len(toks), toks[len(toks)-1], maxTokens, Wildcard)
	}
}

// Plain words (letters and at most one closing mark, most words of most lines)
// take plainWord's short path, and it gives them the token word would.
func TestPlainWordShortPath(t *testing.T) {
	plain := []string{"session", "closed", "ERROR", "Info", "error:", "failed,", "done.", "why?", "now!", "list;",
		"café", "µs", "bytes", "sec", "Jan", "Sunday", "PM", "abcdef", "Terminating.", "LOOKING:"}
	notPlain := []string{"jamie06", "deadbeefcafe", "a.b", "[error]", "x=1", "user_name", "e-mail", "10", ",", "'q'", "ab.:"}
	classes := func(w string) (orHead, andHead uint16) {
		or, and := uint16(0), uint16(0xffff)
		orHead, andHead = or, and
		for i := 0; i < len(w); i++ {
			orHead, andHead = or, and
			or |= charClass[w[i]]
			and &= charClass[w[i]]
		}
		if charClass[w[len(w)-1]]&cTail == 0 {
			orHead, andHead = or, and
		}
		return orHead, andHead
	}
	for _, w := range notPlain {
		if orHead, andHead := classes(w); isPlain(w, orHead, andHead) {
			t.Errorf("%q taken for a plain word", w)
		}
	}
	for _, w := range plain {
		orHead, andHead := classes(w)
		if !isPlain(w, orHead, andHead) {
			t.Errorf("%q not taken for a plain word", w)
			continue
		}
		short, long := newScanner(), newScanner()
		short.buf, long.buf = []byte(Wildcard), []byte(Wildcard)
		short.plainWord(w, orHead)
		long.word(w, (orHead|charClass[w[len(w)-1]])&cKey != 0)
		a, b := short.toks[0], long.toks[0]
		// word marks "error:" keyed; its key hash is 0 all the same (nothing after the colon)
		if fa, fb := string(short.buf[a.off:a.end]), string(long.buf[b.off:b.end]); fa != fb || a.kind != b.kind&^kindKeyed ||
			long.keyHash(long.buf[b.off:b.end]) != 0 {
			t.Errorf("%q: plainWord gives %q kind %b, word %q kind %b", w, fa, a.kind, fb, b.kind)
		}
	}
}
