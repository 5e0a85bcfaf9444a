package utf8safe_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/logwarden/logwarden/pkg/utf8safe"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"valid ascii", "hello", "hello"},
		{"valid multibyte", "héllo — ✓", "héllo — ✓"},
		{"lone continuation byte", "a\x80b", "a\uFFFDb"},
		{"truncated rune", "caf\xc3", "caf\uFFFD"},
		{"latin-1 bytes", "\xe9t\xe9", "\uFFFDt\uFFFD"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := utf8safe.String(tc.in)
			if got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("String(%q) = %q is not valid UTF-8", tc.in, got)
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "abc", 3, "abc"},
		{"ascii cut", "abcdef", 4, "abcd"},
		{"cut inside a 2-byte rune", "aé", 2, "a"},
		{"cut after a 2-byte rune", "aéb", 3, "aé"},
		{"cut inside a 4-byte rune", "ab😀", 5, "ab"},
		{"cut inside 3-byte runes", "✓✓✓", 7, "✓✓"},
		{"zero", "abc", 0, ""},
		{"negative", "abc", -1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := utf8safe.Clip(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestClipMark(t *testing.T) {
	if got := utf8safe.ClipMark("short", 10, "…"); got != "short" {
		t.Errorf("no cut: %q", got)
	}
	got := utf8safe.ClipMark(strings.Repeat("é", 100), 20, "…")
	if len(got) > 20 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("ClipMark = %q (%d bytes), want ≤ 20 valid bytes ending in …", got, len(got))
	}
}

func FuzzClip(f *testing.F) {
	f.Add("héllo ✓ 😀", 5)
	f.Add("\xff\xfe", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		got := utf8safe.Clip(s, max)
		if len(got) > max && len(got) > 0 {
			t.Fatalf("Clip(%q, %d) = %q longer than max", s, max, got)
		}
		if !strings.HasPrefix(s, got) {
			t.Fatalf("Clip(%q, %d) = %q is not a prefix", s, max, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q split a rune", s, max, got)
		}
		if v := utf8safe.String(s); !utf8.ValidString(v) {
			t.Fatalf("String(%q) = %q invalid", s, v)
		}
	})
}
