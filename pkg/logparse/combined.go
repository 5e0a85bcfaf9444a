package logparse

import (
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// parseCombined reads the combined access log format (nginx's and apache's default),
// and the common log format (the same without referer and user agent):
//
//	1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "ref" "ua"
func (p *Parser) parseCombined(line string, ev *logwardenpb.LogEvent) bool {
	client, r := nextField(line)
	_, r = nextField(r) // ident, nearly always "-"
	user, r := nextField(r)
	// [10/Oct/2000:13:55:36 -0700] = 28 bytes.
	if client == "" || user == "" || len(r) < 30 || r[0] != '[' || r[27] != ']' || r[28] != ' ' {
		return false
	}
	ts := r[1:27]
	if ts[2] != '/' || ts[6] != '/' || ts[11] != ':' || ts[20] != ' ' {
		return false
	}
	d, ok1 := num(ts[0:2])
	mon, ok2 := month(ts[3:6])
	y, ok3 := num(ts[7:11])
	h, mi, s, ok4 := clock(ts[12:20])
	zh, ok5 := num(ts[22:24])
	zm, ok6 := num(ts[24:26])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || (ts[21] != '+' && ts[21] != '-') ||
		!validDay(y, mon, d) || zh > 14 || zm > 59 {
		return false
	}
	r = r[29:]
	request, r, ok := quotedField(r)
	if !ok {
		return false
	}
	status, r := nextField(r)
	if _, ok := num(status); !ok || len(status) != 3 {
		return false
	}
	bytes, r := nextField(r)

	off := (zh*60 + zm) * 60
	if ts[21] == '-' {
		off = -off
	}
	t := time.Date(y, mon, d, h, mi, s, 0, time.UTC).Add(-time.Duration(off) * time.Second)
	if t.Year() < 1 || t.Year() > 9999 {
		return false
	}
	setTime(ev, t)
	if ip := validIP(client); ip != "" {
		ev.Ip = ip
	} else {
		ev.Fields["http.remote_host"] = client
	}
	if user != "-" {
		ev.User = user
	}
	ev.Action = ActionHTTPRequest
	method, rr := nextField(request)
	if rr != "" {
		i := strings.LastIndexByte(rr, ' ')
		if i >= 0 && strings.HasPrefix(rr[i+1:], "HTTP/") {
			ev.Target = rr[:i]
			ev.Fields["http.protocol"] = rr[i+1:]
		} else {
			ev.Target = rr
		}
		ev.Fields["http.method"] = method
	} else {
		// A malformed request (e.g. a TLS handshake sent to a plain port): keep it as is.
		ev.Target = request
	}
	ev.Fields["http.status"] = status
	ev.Fields["http.bytes"] = bytes
	if referer, r2, ok := quotedField(r); ok {
		ev.Fields["http.referer"] = referer
		if ua, _, ok := quotedField(r2); ok {
			ev.Fields["http.user_agent"] = ua
		}
	}
	return true
}

// quotedField reads a double-quoted field at the start of s ("…", with \" escapes kept as
// they are) and returns its contents and what follows the separating space.
func quotedField(s string) (field, rest string, ok bool) {
	if len(s) < 2 || s[0] != '"' {
		return "", s, false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			rest = s[i+1:]
			if len(rest) > 0 && rest[0] == ' ' {
				rest = rest[1:]
			}
			return s[1:i], rest, true
		}
	}
	return "", s, false
}
