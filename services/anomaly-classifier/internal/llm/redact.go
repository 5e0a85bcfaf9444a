package llm

import (
	"errors"
	"net/url"
	"strings"
)

// redactURL shows a URL without what may be a secret: the user information (user,
// password or token before "@") and the query (an api-key parameter of a proxy) are
// replaced by "REDACTED", whether or not the URL parses, so an error about a malformed
// OPENAI_BASE_URL never echoes its password.
func redactURL(raw string) string {
	head, tail, query := raw, "", false
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		head, tail, query = raw[:i], raw[i:], true
	}
	scheme, rest := "", head
	if i := strings.Index(head, "://"); i >= 0 {
		scheme, rest = head[:i+3], head[i+3:]
	}
	switch {
	case strings.Contains(tail, "@"):
		rest = "REDACTED" // a "?" or "#" inside the user information: show nothing of it
	case strings.Contains(rest, "@"):
		rest = "REDACTED@" + rest[strings.LastIndexByte(rest, '@')+1:] // also an "@" after a "/" in a password
	}
	out := scheme + rest
	if query {
		out += "?REDACTED"
	}
	return out
}

// redactError is err's message with the URL of a failed request redacted (net/http
// hides only the password of the URL it names; a token as user name or in the query
// would be logged).
func redactError(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		msg = strings.ReplaceAll(msg, ue.URL, redactURL(ue.URL))
	}
	return msg
}
