package tail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzTail writes arbitrary bytes in two appends and checks the lines published: every
// complete line comes out once, in order, cut at the limit, with nothing made up.
func FuzzTail(f *testing.F) {
	f.Add("a\nb\n", "c\r\n\nd", uint8(4))
	f.Add(strings.Repeat("x", 100)+"\n", "y\n", uint8(3))
	f.Add("", "\n\n\n", uint8(1))
	f.Fuzz(func(t *testing.T, first, second string, max uint8) {
		limit := int(max%32) + 1
		path := filepath.Join(t.TempDir(), "f.log")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		tl, err := New(Config{Paths: []string{path}, StartAt: "beginning", MaxLineBytes: limit, BatchLines: 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tl.Close()
		for _, chunk := range []string{first, second} {
			appendTo(t, path, chunk)
			if err := tl.Poll(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
		}
		// Expected: complete lines of the whole content, empty ones (and a lone "\r")
		// dropped, each cut to limit+1 bytes. A line still open at the end is not read.
		content := first + second
		var want []string
		if i := strings.LastIndexByte(content, '\n'); i >= 0 {
			for _, l := range strings.Split(content[:i], "\n") {
				if l == "" || l == "\r" {
					continue
				}
				if len(l) > limit {
					l = l[:limit+1]
				}
				want = append(want, l)
			}
		}
		got := rec.texts()
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("content %q limit %d:\n got  %q\n want %q", content, limit, got, want)
		}
	})
}
