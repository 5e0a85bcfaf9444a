package render

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// LineBreak is what a line break inside untrusted text becomes: a visible symbol, so a
// "\n" in a log line can never start a line of its own (a forged evidence line).
const LineBreak = "␤"

// Sanitize makes untrusted text show what its bytes say. Invalid UTF-8 becomes U+FFFD.
// Unicode format characters are removed: bidi embeddings, overrides and isolates
// (U+202A–202E, U+2066–2069), LRM/RLM/ALM, zero-width space and joiners
// (U+200B–200D), word joiner (U+2060), BOM (U+FEFF), tag characters and the rest of
// category Cf — "eve\u202egnp.exe" shows as "evegnp.exe", not as "eveexe.png". Line
// breaks (CR, LF, CRLF, VT, FF, NEL, U+2028, U+2029) become LineBreak, a tab a space,
// and every other C0/C1 control character U+FFFD.
func Sanitize(s string) string {
	if printableASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteString(LineBreak)
		case r == '\n' || r == '\v' || r == '\f' || r == 0x85 || r == 0x2028 || r == 0x2029:
			b.WriteString(LineBreak)
		case r == '\t':
			b.WriteByte(' ')
		case unicode.Is(unicode.Cf, r):
			// removed
		case unicode.IsControl(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

var mrkdwn = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape turns Slack's three control characters into entities, so "<!channel>" or
// "<http://x|y>" show as text and notify nobody. It does not sanitize: see Code.
func Escape(s string) string { return mrkdwn.Replace(s) }

// codeText escapes s for use inside a code span or block: as Escape, and backticks
// become a look-alike (U+02CB) so that the text cannot close the span or fence.
var codeText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "`", "\u02cb")

// Code renders untrusted text as an mrkdwn inline code span, cut to max runes: inside a
// code span Slack applies no styling (*bold*, _italic_, ~strike~, > quotes) and no
// :emoji: codes; escaping keeps mentions and links inert; the text objects carrying it
// are verbatim, so bare URLs and #channel names are not linked either. Empty text
// shows as "-".
func Code(s string, max int) string {
	s = Clip(codeText.Replace(Sanitize(s)), max)
	if strings.TrimSpace(s) == "" {
		return "`-`"
	}
	return "`" + s + "`"
}

// CodeBlock renders untrusted lines inside an mrkdwn ``` block: each line sanitized
// (its own line breaks shown as LineBreak, never a new line) and escaped.
func CodeBlock(lines []string, max int) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(codeText.Replace(Sanitize(strings.TrimRight(l, "\r\n"))))
	}
	return "```\n" + Clip(b.String(), max-len("```\n\n```")) + "\n```"
}

// Plain renders untrusted text for surfaces without code spans (Slack plain_text
// headers, Teams cards, the notification text): sanitized, escaped for Slack, and
// defanged (Defang), cut to max runes.
func Plain(s string, max int) string {
	return Clip(Escape(Defang(Sanitize(s))), max)
}

// Defang makes URLs and host names in untrusted text unclickable the way security
// tooling writes indicators: "http://evil.example/x" shows as "http[:]//evil[.]example/x",
// "www.evil.example" as "www[.]evil[.]example". A dot is defanged when a letter or digit
// precedes it and a letter follows (host names and file names, not version numbers or
// IP addresses, which no client links).
func Defang(s string) string {
	if !strings.Contains(s, ".") && !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':' && strings.HasPrefix(s[i:], "://"):
			b.WriteString("[:]")
		case c == '.' && i > 0 && isAlnum(s[i-1]) && i+1 < len(s) && isLetter(s[i+1]):
			b.WriteString("[.]")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isAlnum(c byte) bool  { return isLetter(c) || c >= '0' && c <= '9' }

// RunbookURL returns u when it is an absolute http(s) URL that is safe to put in a
// Slack link, else "".
func RunbookURL(u string) string {
	if u == "" || len(u) > 2000 || strings.ContainsAny(u, "<>|\"' \t\r\n`") || !printableASCII(u) {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return ""
	}
	return u
}

// Truncated is the marker appended to text cut to fit Slack's limits.
const Truncated = "… (truncated)"

// Clip cuts s to at most max runes, ending with the Truncated marker when cut. It never
// cuts inside a rune or inside an entity produced by Escape.
func Clip(s string, max int) string {
	if len(s) <= max || utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(Truncated)
	if keep < 0 {
		keep = 0
	}
	out := ClipRunes(s, keep)
	if i := strings.LastIndexByte(out, '&'); i >= 0 && !strings.Contains(out[i:], ";") {
		out = out[:i]
	}
	return out + Truncated
}

// ClipRunes returns the first n runes of s (all of s when shorter), never half a rune.
func ClipRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
