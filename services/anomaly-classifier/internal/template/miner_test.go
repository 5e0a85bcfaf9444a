package template

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Accepted password for root from 10.0.0.1 port 22 ssh2", "Accepted password for root from <*> port <*> <*>"},
		{"Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106", "Receiving block <*> src: <*>"},
		{"session 0x14f05578bf40005 closed", "session <*> closed"},
		{"request id 123e4567-e89b-12d3-a456-426614174000 done", "request id <*> done"},
		{"accessed file '/home/bob/my file.txt' now", "accessed file <*> now"},
		{"opened /var/log/syslog", "opened <*>"},
		{"digest deadbeefcafebabe ok", "digest <*> ok"},
		{"  spaced\tout  ", "spaced out"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(Mask(tt.in, nil), " "); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

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
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{"a 'b c' d", "\"unterminated", "x=1 /p/q 0xdead", "'\x00'", "日本 語 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Mask(s, nil)
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, " \t\n") {
				t.Fatalf("bad token %q from %q", tok, s)
			}
		}
		m := New(Config{MaxClusters: 4, Similarity: 0.5, Depth: 2})
		r := m.Add(s)
		if r.ID == "" || (utf8.ValidString(s) && !utf8.ValidString(r.Template)) {
			t.Fatalf("bad match %+v for %q", r, s)
		}
	})
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
