package logparse

import (
	"net/netip"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// futureSlack is how far ahead of the reference time a year-less date may lie before it is
// put in the previous year.
const futureSlack = 7 * 24 * time.Hour

// parseSyslog reads "[<PRI>]Mon _2 15:04:05 host tag[pid]: msg" or the same with an
// RFC 3339 timestamp, and returns the message after the tag.
func (p *Parser) parseSyslog(line string, ev *logwardenpb.LogEvent) (msg string, ok bool) {
	s := line
	if len(s) > 0 && s[0] == '<' {
		// <PRI>: 1–3 digits.
		j := strings.IndexByte(s, '>')
		if j < 2 || j > 4 {
			return "", false
		}
		if _, ok := num(s[1:j]); !ok {
			return "", false
		}
		s = s[j+1:]
	}
	var t time.Time
	var rest string
	switch {
	case len(s) >= 16 && s[3] == ' ' && s[6] == ' ' && s[15] == ' ':
		mon, ok := month(s[0:3])
		if !ok {
			return "", false
		}
		ds := s[4:6]
		if ds[0] == ' ' {
			ds = ds[1:]
		}
		d, ok := num(ds)
		if !ok {
			return "", false
		}
		h, mi, sec, ok := clock(s[7:15])
		if !ok {
			return "", false
		}
		now := p.now().In(p.loc)
		y := now.Year()
		if !validDay(y, mon, d) && !validDay(y-1, mon, d) { // Feb 29
			return "", false
		}
		t = time.Date(y, mon, d, h, mi, sec, 0, p.loc)
		if t.Sub(now) > futureSlack || t.Day() != d {
			t = time.Date(y-1, mon, d, h, mi, sec, 0, p.loc)
		}
		rest = s[16:]
	case len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T':
		tok, r := nextField(s)
		ts, err := time.Parse(time.RFC3339Nano, tok)
		if err != nil || ts.UTC().Year() < 1 || ts.UTC().Year() > 9999 {
			return "", false
		}
		t, rest = ts, r
	default:
		return "", false
	}
	host, msg := nextField(rest)
	if host == "" || msg == "" {
		return "", false
	}
	if lv := wordLevel(host); lv != 0 && strings.ToUpper(host) == host {
		return "", false // "2024-01-02T03:04:05Z INFO …": an application log, not syslog
	}
	setTime(ev, t)
	if ev.Host == "" {
		ev.Host = host
	}
	// tag: "prog[pid]: msg" or "prog: msg"; a tag has no spaces and is short.
	if i := strings.IndexByte(msg, ':'); i > 0 && i <= 64 && strings.IndexByte(msg[:i], ' ') < 0 {
		tag := msg[:i]
		if j := strings.IndexByte(tag, '['); j > 0 && tag[len(tag)-1] == ']' {
			ev.Fields["syslog.pid"] = tag[j+1 : len(tag)-1]
			tag = tag[:j]
		}
		ev.Fields["syslog.program"] = tag
		msg = strings.TrimPrefix(msg[i+1:], " ")
	}
	return msg, true
}

// parseAuth understands sshd, sudo and su messages of a syslog line; it reports whether
// the line is an auth line.
func parseAuth(msg string, ev *logwardenpb.LogEvent) bool {
	switch ev.Fields["syslog.program"] {
	case "sshd", "sshd-session":
		parseSSHD(msg, ev)
		return true
	case "sudo":
		parseSudo(msg, ev)
		return true
	case "su":
		if u, ok := after(msg, "for user "); ok {
			ev.User, _ = nextField(u)
		}
		return true
	}
	return false
}

func parseSSHD(msg string, ev *logwardenpb.LogEvent) {
	if r, ok := strings.CutPrefix(msg, "message repeated "); ok {
		n, r2 := nextField(r)
		if inner, ok := strings.CutPrefix(r2, "times: [ "); ok {
			ev.Fields["syslog.repeated"] = n
			msg = strings.TrimSuffix(inner, "]")
		}
	}
	switch {
	case strings.HasPrefix(msg, "Accepted "), strings.HasPrefix(msg, "Failed "):
		verb, r := nextField(msg)
		method, r := nextField(r)
		r, ok := strings.CutPrefix(r, "for ")
		if !ok {
			break
		}
		if r2, ok := strings.CutPrefix(r, "invalid user "); ok {
			ev.Fields["ssh.invalid_user"] = "true"
			r = r2
		}
		// The user name may itself contain spaces in hostile input: take the text before
		// the last " from ".
		i := strings.LastIndex(r, " from ")
		if i < 0 {
			break
		}
		ev.User = r[:i]
		ip, r := nextField(r[i+len(" from "):])
		ev.Ip = validIP(ip)
		if port, ok := strings.CutPrefix(r, "port "); ok {
			ev.Fields["ssh.port"], _ = nextField(port)
		}
		ev.Fields["ssh.method"] = method
		if verb == "Accepted" {
			ev.Action = ActionLogin
		} else {
			ev.Action = ActionLoginFailed
		}
		return
	case strings.HasPrefix(msg, "Invalid user "):
		r := msg[len("Invalid user "):]
		i := strings.LastIndex(r, " from ")
		if i < 0 {
			break
		}
		ev.User = r[:i]
		ip, r := nextField(r[i+len(" from "):])
		ev.Ip = validIP(ip)
		if port, ok := strings.CutPrefix(r, "port "); ok {
			ev.Fields["ssh.port"], _ = nextField(port)
		}
		ev.Fields["ssh.invalid_user"] = "true"
		ev.Action = ActionLoginFailed
		return
	}
	// Other sshd lines: keep who and where when they say it.
	if ip, ok := after(msg, " from "); ok {
		tok, _ := nextField(ip)
		ev.Ip = validIP(strings.TrimSuffix(tok, ":"))
	} else if ip, ok := after(msg, "rhost="); ok {
		tok, _ := nextField(ip)
		ev.Ip = validIP(tok)
	} else if i := strings.IndexByte(msg, '['); i >= 0 {
		if j := strings.IndexByte(msg[i:], ']'); j > 0 {
			ev.Ip = validIP(msg[i+1 : i+j])
		}
	}
	if u, ok := after(msg, "for user "); ok {
		ev.User, _ = nextField(u)
	} else if u, ok := after(msg, " user="); ok {
		ev.User, _ = nextField(u)
	}
}

// parseSudo reads "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat x".
func parseSudo(msg string, ev *logwardenpb.LogEvent) {
	msg = strings.TrimLeft(msg, " ")
	i := strings.Index(msg, " : ")
	if i <= 0 {
		return
	}
	ev.User = strings.TrimSpace(msg[:i])
	rest := msg[i+3:]
	ev.Action = ActionSudo
	for rest != "" {
		var part string
		if strings.HasPrefix(rest, "COMMAND=") {
			// The command is last and may contain " ; " itself.
			ev.Target = rest[len("COMMAND="):]
			return
		}
		if j := strings.Index(rest, " ; "); j >= 0 {
			part, rest = rest[:j], rest[j+3:]
		} else {
			part, rest = rest, ""
		}
		k, v, ok := strings.Cut(part, "=")
		switch {
		case ok && k == "TTY":
			ev.Fields["sudo.tty"] = v
		case ok && k == "PWD":
			ev.Fields["sudo.pwd"] = v
		case ok && k == "USER":
			ev.Fields["sudo.run_as"] = v
		case !ok || strings.IndexByte(k, ' ') >= 0:
			ev.Fields["sudo.error"] = part
		}
	}
}

// after returns the text after the first sep in s.
func after(s, sep string) (string, bool) {
	i := strings.Index(s, sep)
	if i < 0 {
		return "", false
	}
	return s[i+len(sep):], true
}

// validIP returns s when it is an IP address, else "".
func validIP(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return ""
	}
	return s
}
