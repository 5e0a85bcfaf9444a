package template

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMinerStableIDAndGeneralisation(t *testing.T) {
	m := New(DefaultConfig())
	a := m.Add("Invalid user oracle from 1.2.3.4")
	if !a.New || a.Template != "Invalid user oracle from <*>" {
		t.Fatalf("first: %+v", a)
	}
	b := m.Add("Invalid user admin from 5.6.7.8")
	if b.New || b.ID != a.ID || b.Template != "Invalid user <*> from <*>" || b.Count != 2 {
		t.Fatalf("second: %+v (first id %s)", b, a.ID)
	}
	c := m.Add("Connection closed by 1.2.3.4 [preauth]")
	if !c.New || c.ID == a.ID {
		t.Fatalf("other template: %+v", c)
	}
	// the id is the hash of the first version: a fresh miner gives the same id
	if id := New(DefaultConfig()).Add("Invalid user oracle from 9.9.9.9").ID; id != a.ID {
		t.Fatalf("id not stable: %s vs %s", id, a.ID)
	}
}

// TestMinerOneFamily: lines of one message family that differ only in
// values land in one template, whatever the spelling of the values.
func TestMinerOneFamily(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"uid values", []string{
			"session opened for user root by (uid=0)",
			"session opened for user bob by (uid=1000)",
			"session opened for user alice by (uid=65534)",
		}},
		{"empty and set keys", []string{
			"authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1",
			"authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host.example.com",
			"authentication failure; logname= uid=500 euid=500 tty=ssh ruser= rhost=10.0.0.2",
		}},
		{"dates in the message", []string{
			"connection from 10.0.0.1 (a.example.com) at Sun Jul 10 03:55:21 2005",
			"connection from 10.0.0.2 (b.example.org) at Mon Aug  1 13:05:01 2005",
		}},
		{"host and port", []string{
			"www.google.com:443 open through proxy proxy.example.org:5070 HTTPS",
			"10.0.0.1:80 open through proxy proxy.example.org:5070 HTTPS",
			"mail.example.net:993 open through proxy localhost:5070 HTTPS",
		}},
		{"sizes spelt differently", []string{
			"a.example.com:80 close, 451 bytes sent, 18846 bytes (18.4 KB) received, lifetime <1 sec",
			"a.example.com:80 close, 1190 bytes (1.16 KB) sent, 1671 bytes (1.63 KB) received, lifetime 00:02",
		}},
		{"key value pairs with words", []string{
			"acquire lock=1, flags=0x1, tag=\"View Lock\", name=com.android.systemui, ws=null, uid=10037",
			"acquire lock=2, flags=0x1, tag=\"*launch*\", name=android, ws=WorkSource{10113}, uid=1000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(DefaultConfig())
			first := m.Add(tt.lines[0])
			for _, l := range tt.lines[1:] {
				if r := m.Add(l); r.ID != first.ID {
					t.Errorf("%q: template %q (%s), want the first one %q (%s)", l, r.Template, r.ID, first.Template, first.ID)
				}
			}
		})
	}
}

// TestMinerKeepsApart: lines that differ in wording stay apart.
func TestMinerKeepsApart(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"other words in a row", "Received disconnect from 10.0.0.1: 11: Bye Bye [preauth]", "Received disconnect from 10.0.0.1: 11: disconnected by user"},
		{"names in capitals", "10.0.0.1:80 open through proxy p.example.com:5070 HTTPS", "10.0.0.1:80 open through proxy p.example.com:5070 SOCKS5"},
		{"states", "Notification: 1 (n.leader), LOOKING (n.state)", "Notification: 1 (n.leader), LEADING (n.state)"},
		{"short lines", "Link error", "Link ok"},
		{"other first words", "syslogd startup succeeded", "klogd shutdown succeeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(DefaultConfig())
			if a, b := m.Add(tt.a), m.Add(tt.b); a.ID == b.ID {
				t.Errorf("%q and %q share template %q", tt.a, tt.b, b.Template)
			}
		})
	}
}

func TestMinerGeneralisedKeyKeepsKey(t *testing.T) {
	m := New(DefaultConfig())
	m.Add("open file mode=read user=alice")
	r := m.Add("open file mode=write user=alice")
	if r.Template != "open file mode=<*> user=alice" {
		t.Fatalf("template %q", r.Template)
	}
}

func TestMinerBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxClusters = 3
	m := New(cfg)
	for _, l := range []string{"alpha one", "beta two three", "gamma x y z", "delta a b c d"} {
		m.Add(l)
	}
	if m.Len() != 3 {
		t.Fatalf("clusters %d, want 3", m.Len())
	}
	if !m.Add("alpha one").New { // least recently used was evicted
		t.Fatal("evicted template came back as known")
	}
	if st := m.Stats(); st.Templates != 3 || st.Created != 5 || st.Evicted != 2 || st.Lines != 5 {
		t.Fatalf("stats %+v", st)
	}
	// eviction prunes the tree: only the branches of held templates remain
	nodes := 0
	var walk func(n *node)
	walk = func(n *node) {
		nodes++
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, r := range m.roots {
		if r != nil {
			walk(r)
		}
	}
	if want := 3 * (1 + cfg.Depth); nodes != want {
		t.Fatalf("%d tree nodes, want %d (3 templates of distinct lengths, depth %d)", nodes, want, cfg.Depth)
	}
}

func TestMinerSnapshotRestore(t *testing.T) {
	_, lines := readLoghub(t, "OpenSSH")
	a := New(DefaultConfig())
	ids := make([]string, len(lines))
	for i, l := range lines[:1000] {
		ids[i] = a.Add(l).ID
	}
	snap := a.Snapshot()
	if len(snap) != a.Len() {
		t.Fatalf("snapshot of %d templates, miner holds %d", len(snap), a.Len())
	}
	b := New(DefaultConfig())
	if err := b.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if b.Len() != a.Len() {
		t.Fatalf("restored %d templates, want %d", b.Len(), a.Len())
	}
	// the restored miner goes on exactly as the original
	for _, l := range lines[1000:] {
		ra, rb := a.Add(l), b.Add(l)
		if ra != rb {
			t.Fatalf("%q: original %+v, restored %+v", l, ra, rb)
		}
	}
	// LRU order survives: the most recent comes first
	if s1, s2 := a.Snapshot(), b.Snapshot(); s1[0].ID != s2[0].ID || s1[len(s1)-1].ID != s2[len(s2)-1].ID {
		t.Fatal("LRU order differs after restore")
	}
}

func TestMinerRestoreBoundedAndChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxClusters = 2
	m := New(cfg)
	states := []TemplateState{
		{ID: "a", Template: "alpha <*>", Generalised: []int{1}, Count: 3},
		{ID: "b", Template: "beta x", Count: 1},
		{ID: "c", Template: "gamma y", Count: 1},
	}
	if err := m.Restore(states); err != nil {
		t.Fatal(err)
	}
	if got := m.Snapshot(); len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("restored %+v, want the 2 most recent", got)
	}
	if r := m.Add("alpha anything"); r.ID != "a" || r.Count != 4 {
		t.Fatalf("restored generalised template not matched: %+v", r)
	}
	bad := []TemplateState{
		{ID: "", Template: "x", Count: 1},
		{ID: "x", Template: "x", Count: 0},
		{ID: "x", Template: "x  y", Count: 1},
		{ID: "x", Template: "x y", Generalised: []int{2}, Count: 1},
		{ID: "x", Template: strings.Repeat("w ", maxTokens) + "w", Count: 1},
	}
	for _, st := range bad {
		if err := m.Restore([]TemplateState{st}); err == nil {
			t.Errorf("Restore(%+v) accepted", st)
		}
	}
	if m.Len() != 2 {
		t.Fatalf("a failed Restore changed the miner: %d templates", m.Len())
	}
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"a 'b c' d", "\"unterminated", "x=1 /p/q 0xdead", "'\x00'", "日本 語 1",
		"uid=0 a:b c:1 <1 sec 1.5 KB", "\"GET /a HTTP/1.1\"", "Sun Jul 10 03:55:21 2005", "a=\"b c\", d=e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Mask(s, nil)
		if len(toks) > maxTokens {
			t.Fatalf("%d tokens", len(toks))
		}
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, " \t\n\r\v\f") {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		m := New(Config{MaxClusters: 4, Similarity: 0.5, Depth: 2})
		r := m.Add(s)
		if r.ID == "" || (utf8.ValidString(s) && !utf8.ValidString(r.Template)) {
			t.Fatalf("bad match %+v for %q", r, s)
		}
		if r.Template != strings.Join(toks, " ") {
			t.Fatalf("template %q, tokens %q", r.Template, toks)
		}
		// a snapshot restores, and the line finds its template again
		m2 := New(Config{MaxClusters: 4, Similarity: 0.5, Depth: 2})
		if err := m2.Restore(m.Snapshot()); err != nil {
			t.Fatalf("restore of %q: %v", s, err)
		}
		if r2 := m2.Add(s); r2.ID != r.ID || r2.New {
			t.Fatalf("after restore %q: %+v, before %+v", s, r2, r)
		}
	})
}

func FuzzRestore(f *testing.F) {
	f.Add("id", "a <*> b=<*>", 1, int64(2), "a x b=1")
	f.Fuzz(func(t *testing.T, id, tmpl string, gen int, count int64, line string) {
		m := New(Config{MaxClusters: 4, Similarity: 0.5, Depth: 2})
		if err := m.Restore([]TemplateState{{ID: id, Template: tmpl, Generalised: []int{gen}, Count: count}}); err != nil {
			return
		}
		m.Add(line)
		m.Snapshot()
	})
}

// loghubLines is every line of the eight samples, interleaved.
func loghubLines(b *testing.B) []string {
	var all [][]string
	n := 0
	for _, sys := range loghubSystems {
		_, lines := readLoghub(b, sys)
		all = append(all, lines)
		n += len(lines)
	}
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		for _, lines := range all {
			if i < len(lines) {
				out = append(out, lines[i])
			}
		}
	}
	return out
}

func BenchmarkMinerAdd(b *testing.B) {
	_, lines := readLoghub(b, "OpenSSH")
	m := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMinerAddLoghub: the eight systems' lines interleaved (about 400
// templates held).
func BenchmarkMinerAddLoghub(b *testing.B) {
	lines := loghubLines(b)
	m := New(DefaultConfig())
	for _, l := range lines {
		m.Add(l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Add(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMinerMemory reports the heap a thousand templates take (lines of
// 14 tokens, 6 of them values; two leading words make each line its own
// template).
func BenchmarkMinerMemory(b *testing.B) {
	const n = 10000
	lines := make([]string, n)
	for i := range lines {
		w := string([]byte{byte('a' + i%26), byte('a' + i/26%26), byte('a' + i/676%26)})
		lines[i] = fmt.Sprintf("w%s x%s request from 10.0.%d.%d port %d accepted for user u%d key=%d in %dms",
			w, w, i/256%256, i%256, i, i, i, i)
	}
	var perK float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := New(Config{MaxClusters: n, Similarity: 0.4, Depth: 2})
		for _, l := range lines {
			m.Add(l)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if m.Len() != n {
			b.Fatalf("%d templates, want %d", m.Len(), n)
		}
		perK = float64(after.HeapAlloc-before.HeapAlloc) / (n / 1000)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perK, "B/1k-templates")
}
