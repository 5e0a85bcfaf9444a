package logparse

import (
	"net/netip"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// parseTutorial reads "[02/Jan/2006 15:04:05] [<ip>] <user> <what>".
func (p *Parser) parseTutorial(line string, ev *logwardenpb.LogEvent) bool {
	// [01/Feb/2024 14:46:21] = 22 bytes, then a space.
	if len(line) < 24 || line[0] != '[' || line[3] != '/' || line[7] != '/' || line[12] != ' ' ||
		line[21] != ']' || line[22] != ' ' {
		return false
	}
	d, ok1 := num(line[1:3])
	mon, ok2 := month(line[4:7])
	y, ok3 := num(line[8:12])
	h, mi, s, ok4 := clock(line[13:21])
	if !ok1 || !ok2 || !ok3 || !ok4 || !validDay(y, mon, d) {
		return false
	}
	rest := line[23:]
	tok, after := nextField(rest)
	if tok == "" || after == "" {
		return false
	}
	if looksLikeIP(tok) {
		if _, err := netip.ParseAddr(tok); err == nil {
			ev.Ip = tok
			tok, after = nextField(after)
			if tok == "" {
				return false
			}
		}
	}
	ev.User = tok
	setTime(ev, time.Date(y, mon, d, h, mi, s, 0, p.loc))

	switch {
	case strings.HasPrefix(after, "logged in"):
		ev.Action = ActionLogin
	case strings.HasPrefix(after, "failed to log in"):
		ev.Action = ActionLoginFailed
	case strings.HasPrefix(after, "accessed file "):
		ev.Action, ev.Target = ActionFileAccess, quoted(after[len("accessed file "):])
	case strings.HasPrefix(after, "executed command "):
		ev.Action, ev.Target = ActionCommand, quoted(after[len("executed command "):])
	case strings.HasPrefix(after, "accessed directory "):
		ev.Action, ev.Target = ActionDirAccess, quoted(after[len("accessed directory "):])
	}
	return true
}

// looksLikeIP is a cheap pre-check before netip.ParseAddr: user names rarely contain
// only digits, dots, colons and hex letters.
func looksLikeIP(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	dots, colons := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == '%':
		default:
			return false
		}
	}
	return dots == 3 || colons >= 2
}

// quoted returns the text between the first quote of s and the last one ('name'); the
// target itself may contain quotes (executed command 'sh -c 'id”). Without quotes it
// returns s trimmed.
func quoted(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' {
		if j := strings.LastIndexByte(s, '\''); j > 0 {
			return s[1:j]
		}
		return s[1:]
	}
	return s
}
