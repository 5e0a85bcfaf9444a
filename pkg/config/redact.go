package config

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Redacted stands in for a removed secret.
const Redacted = "REDACTED"

// secretParams are query parameters that carry credentials (matched case-insensitively,
// as the whole name or its last _/- separated word).
var secretParams = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true, "key": true, "api_key": true,
	"apikey": true, "api-key": true, "secret": true, "client_secret": true, "password": true, "passwd": true,
	"pwd": true, "pass": true, "sig": true, "signature": true, "auth": true, "code": true, "credential": true,
	"credentials": true, "session": true, "x-amz-signature": true, "x-amz-credential": true, "x-amz-security-token": true,
}

func secretParam(name string) bool {
	n := strings.ToLower(name)
	if secretParams[n] {
		return true
	}
	if i := strings.LastIndexAny(n, "_-"); i >= 0 {
		return secretParams[n[i+1:]]
	}
	return false
}

// RedactURL returns raw without the credentials a URL can carry: its userinfo (user
// and password), query parameters named like credentials (token, key, secret, sig, password…),
// and the path of webhook URLs whose path is the credential (Slack hooks.slack.com,
// Microsoft Teams *.webhook.office.com, Discord /api/webhooks/). Scheme, host and the
// rest stay, so an error still says where a request went. Text that does not parse as a
// URL with a host is redacted more bluntly (redactUnparsed).
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return redactUnparsed(raw)
	}
	hookPath, hook := redactWebhookPath(strings.ToLower(u.Hostname()), u.EscapedPath())
	if strings.Contains(u.RawQuery+u.Fragment, "@") ||
		(!hook && (strings.Contains(u.EscapedPath(), "@") || (u.User == nil && strings.Contains(raw, "@")))) {
		// An "@" outside the userinfo (webhook paths aside) may end a password holding
		// "@", "/", "?" or "#" that split the URL before it: https://user:pa/ss@host
		// parses as host "user:pa" and path "/ss@host".
		return redactUnparsed(raw)
	}
	if u.User != nil {
		// The whole userinfo: a token is as often the user name (https://TOKEN@host) as
		// the password.
		u.User = url.User(Redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			if secretParam(k) {
				q[k] = []string{Redacted}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if hook {
		u.Path, u.RawPath = hookPath, ""
	}
	return u.String()
}

// redactUnparsed redacts text that does not parse as a URL with a host (a mistyped
// setting): everything before the last "@" of the authority-like part, and the whole
// query and fragment, since nothing can tell a credential there from the rest.
func redactUnparsed(raw string) string {
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
		rest = Redacted // a "?" or "#" inside the user information: show nothing of it
	case strings.Contains(rest, "@"):
		rest = Redacted + "@" + rest[strings.LastIndexByte(rest, '@')+1:] // also an "@" after a "/" in a password
	}
	out := scheme + rest
	if query {
		out += "?" + Redacted
	}
	return out
}

// redactWebhookPath keeps the first segment(s) that name the kind of webhook and drops
// the segments that are the credential.
func redactWebhookPath(host, path string) (string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	keep := -1
	switch {
	case host == "hooks.slack.com" || strings.HasSuffix(host, ".hooks.slack.com"):
		keep = 1 // /services/T…/B…/secret, /workflows/…, /triggers/…
	case host == "webhook.office.com" || strings.HasSuffix(host, ".webhook.office.com"):
		keep = 1 // /webhookb2/<ids>/IncomingWebhook/<id>/<id>
	case (host == "discord.com" || host == "discordapp.com" || strings.HasSuffix(host, ".discord.com")) &&
		len(segs) >= 2 && segs[0] == "api" && segs[1] == "webhooks":
		keep = 3 // /api/webhooks/<id>/<token>
	}
	if keep < 0 || len(segs) <= keep {
		return "", false
	}
	return "/" + strings.Join(segs[:keep], "/") + "/" + Redacted, true
}

var (
	urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	// Token shapes that are secrets wherever they appear.
	slackToken  = regexp.MustCompile(`\bxox[abposre]-[0-9A-Za-z-]+`)
	openAIKey   = regexp.MustCompile(`\bsk-[A-Za-z0-9_-]{16,}`)
	bearerToken = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+`)
)

// Redact returns text (an error message, a log field, a dead-letter reason) without
// secrets: every occurrence of one of secrets (the values of the service's secret keys,
// see Secrets; a secret URL is replaced by its RedactURL form, so the host stays), then
// every URL in the text through RedactURL, then Slack tokens (xoxb-…), OpenAI keys
// (sk-…) and bearer tokens by their shape. Secrets shorter than 4 bytes are not searched
// for: replacing them would mangle the text more than it protects.
func Redact(text string, secrets ...string) string {
	sorted := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if len(s) >= 4 {
			sorted = append(sorted, s)
		}
	}
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, s := range sorted {
		repl := Redacted
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			repl = RedactURL(s)
		}
		text = strings.ReplaceAll(text, s, repl)
		if esc := url.QueryEscape(s); esc != s {
			text = strings.ReplaceAll(text, esc, Redacted)
		}
	}
	text = urlInText.ReplaceAllStringFunc(text, RedactURL)
	text = slackToken.ReplaceAllStringFunc(text, func(t string) string { return t[:5] + Redacted })
	text = openAIKey.ReplaceAllString(text, "sk-"+Redacted)
	return bearerToken.ReplaceAllString(text, "${1}"+Redacted)
}

// Secrets returns the values of cfg's secret keys (desc "(secret…)") that are set, for
// Redact. cfg is the loaded configuration struct or a pointer to it.
func Secrets(cfg any) []string {
	fields, _ := walk(cfg)
	var out []string
	for _, f := range fields {
		if s, ok := f.def.(string); ok && f.Secret && s != "" {
			out = append(out, s)
		}
	}
	return out
}
