package stdin

import (
	"context"
	"strings"
	"testing"
)

// FuzzStdin checks that every non-empty line comes out once, in order, cut at the limit,
// and that a last line without newline is published at EOF.
func FuzzStdin(f *testing.F) {
	f.Add("a\nb\r\n\nc", uint8(4))
	f.Add(strings.Repeat("x", 70000)+"\ny", uint8(10))
	f.Fuzz(func(t *testing.T, input string, max uint8) {
		limit := int(max%32) + 1
		rec := &recorder{}
		if err := New(strings.NewReader(input), Config{MaxLineBytes: limit, BatchLines: 3}).Run(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, l := range strings.Split(input, "\n") {
			if l == "" || l == "\r" {
				continue
			}
			if len(l) > limit {
				l = l[:limit+1]
			}
			want = append(want, l)
		}
		if got := rec.texts(); strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("input %q limit %d:\n got  %q\n want %q", input, limit, got, want)
		}
	})
}
