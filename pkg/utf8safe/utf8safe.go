// Package utf8safe makes text from untrusted input safe to put where valid UTF-8 is
// required (protobuf string fields, JSON, Slack text) and cuts text to a byte budget
// without splitting a character.
package utf8safe

import (
	"unicode/utf8"
)

// String returns s with every invalid byte sequence replaced by U+FFFD; s itself when it
// is valid UTF-8 already (no copy).
func String(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, r) // RuneError for each invalid byte
		i += n
	}
	return string(out)
}

// Clip returns the longest prefix of s of at most max bytes that does not end inside a
// multi-byte character. max < 0 counts as 0.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := max
	// Back up over continuation bytes (at most 3) to the start of the rune that does not fit.
	for cut > 0 && cut > max-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ClipMark clips s like Clip to at most max bytes and, when it had to cut, ends it with
// mark (e.g. "…") within the same budget.
func ClipMark(s string, max int, mark string) string {
	if len(s) <= max {
		return s
	}
	if len(mark) >= max {
		return Clip(mark, max)
	}
	return Clip(s, max-len(mark)) + mark
}
