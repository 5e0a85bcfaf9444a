package sink

import (
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// slackToken matches Slack's token prefixes (xoxb-, xoxp-, xapp-, …).
var slackToken = regexp.MustCompile(`xox[a-z]-|xapp-`)

// Redacted replaces a secret in error text.
const Redacted = "[redacted]"

// secrets hides what a sink knows to be secret (its webhook URL, its token) from the
// error text it builds out of a server's answer or a transport error: a server that
// echoes the request URL in its error body must not put the webhook's token into the
// log or the dead-letter topic. The URL is hidden whole and in parts (path, every long
// path segment and query value), raw and in its escaped forms; anything else that looks
// like a URL or a Slack token is hidden too.
type secrets struct{ words []string }

func newSecrets(values ...string) secrets {
	set := map[string]bool{}
	add := func(v string) {
		if len(v) < 8 {
			return
		}
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(v, "/", `\/`)} {
			set[f] = true
		}
	}
	for _, v := range values {
		add(v)
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			continue
		}
		add(strings.TrimPrefix(u.EscapedPath(), "/"))
		add(u.RawQuery)
		for _, seg := range strings.Split(u.Path, "/") {
			add(seg)
		}
		for _, vs := range u.Query() {
			for _, q := range vs {
				add(q)
			}
		}
		if u.User != nil {
			add(u.User.String())
		}
	}
	s := secrets{}
	for w := range set {
		s.words = append(s.words, w)
	}
	sort.Slice(s.words, func(i, j int) bool { return len(s.words[i]) > len(s.words[j]) }) // longest first
	return s
}

// clean returns text fit for an error: secrets and URL-like or token-like words
// replaced, sanitized (render.Sanitize), at most 200 runes (never half a rune).
func (s secrets) clean(text string) string {
	for _, w := range s.words {
		text = strings.ReplaceAll(text, w, Redacted)
	}
	f := strings.Fields(render.Sanitize(text))
	for i, w := range f {
		if strings.Contains(w, "://") || slackToken.MatchString(w) || strings.Contains(w, "hooks.slack.com") {
			f[i] = Redacted
		}
	}
	return render.ClipRunes(strings.Join(f, " "), 200)
}
