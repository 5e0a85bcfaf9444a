package llm

import (
	"strings"
	"unicode"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// injectionPhrases read like instructions to a model rather than like a log line. They
// are matched at word starts on a folded copy of the text (lower case, every run of
// non-letters and non-digits one space), so "IGNORE_previous\u200binstructions" is
// caught too. The list is a tripwire, not the defence: the fence and the add-only
// Merge hold whatever the text says; a match only makes the event ask alone and keeps
// its answer out of the cache, so a miss costs nothing more than before and a false
// match costs one call.
var injectionPhrases = []string{
	"ignore previous", "ignore all previous", "ignore the previous", "ignore prior", "ignore all prior",
	"ignore the above", "ignore above", "ignore any previous", "ignore your instructions", "ignore these instructions",
	"disregard", "forget previous", "forget all previous", "forget your instructions", "forget the above",
	"new instructions", "override instructions", "you are now", "you must now", "system prompt", "system message",
	"as an ai", "as a language model", "classify this", "classify it as", "classify as normal", "classify as benign",
	"classify every", "classify all", "mark this", "mark it as", "mark as normal", "mark as benign", "label this",
	"treat this as", "this is not anomalous", "not anomalous", "anomalous false", "respond with", "answer with",
	"reply with", "output only", "untrusted log data", "im start", "im end",
}

// instructionLike reports whether the text an event puts into a prompt reads like
// instructions to a model (injectionPhrases).
func instructionLike(ev *logwardenpb.LogEvent) bool {
	if ev == nil {
		return false
	}
	var b strings.Builder
	add := func(s string) {
		b.WriteByte(' ')
		fold(&b, s)
	}
	add(ev.GetRaw())
	add(ev.GetTarget())
	add(ev.GetUser())
	add(ev.GetHost())
	add(ev.GetSource())
	for k, v := range ev.GetFields() {
		if !strings.HasPrefix(k, "parse.") {
			add(k)
			add(v)
		}
	}
	b.WriteByte(' ')
	text := b.String()
	for _, p := range injectionPhrases {
		if strings.Contains(text, " "+p) {
			return true
		}
	}
	return false
}

// fold writes s lower-cased with every run of characters other than letters and digits
// as one space; format characters (zero-width, bidi controls) vanish.
func fold(b *strings.Builder, s string) {
	space := true
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cf, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		case !space:
			b.WriteByte(' ')
			space = true
		}
	}
	if !space {
		b.WriteByte(' ')
	}
}
