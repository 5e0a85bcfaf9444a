package render

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

var mrkdwn = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape makes untrusted text inert in Slack mrkdwn and plain_text: the three control
// characters of Slack's markup become entities, so "<!channel>" or "<http://x|y>" show
// as text and notify nobody.
func Escape(s string) string { return mrkdwn.Replace(s) }

// EscapeCode escapes s for use inside a ``` code block: as Escape, and backticks become
// a look-alike (U+02CB) so that the log line cannot close the fence.
func EscapeCode(s string) string {
	return strings.ReplaceAll(Escape(s), "`", "\u02cb")
}

// Inline escapes s for an mrkdwn span and also neutralises the formatting characters
// that a log line could use to restyle the message (backticks, stray newlines).
func Inline(s string) string {
	s = strings.ReplaceAll(EscapeCode(s), "\n", " ")
	return strings.ReplaceAll(s, "\r", " ")
}

// RunbookURL returns u when it is an absolute http(s) URL that is safe to put in a
// Slack link, else "".
func RunbookURL(u string) string {
	if u == "" || len(u) > 2000 || strings.ContainsAny(u, "<>|\"' \t\r\n`") {
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
// cuts inside an entity produced by Escape.
func Clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(Truncated)
	if keep < 0 {
		keep = 0
	}
	r := []rune(s)[:keep]
	out := string(r)
	if i := strings.LastIndexByte(out, '&'); i >= 0 && !strings.Contains(out[i:], ";") {
		out = out[:i]
	}
	return out + Truncated
}
