package logparse

import (
	"net"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// parseRaw picks up what an apache error log line carries:
//
//	[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] msg            (apache 2.2)
//	[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 1] [client 1.2.3.4:80] msg  (2.4)
func (p *Parser) parseRaw(line string, ev *logwardenpb.LogEvent) {
	if t, ok := p.isoPrefix(line); ok {
		setTime(ev, t)
		return
	}
	if len(line) < 26 || line[0] != '[' {
		return
	}
	end := strings.IndexByte(line, ']')
	if end < 25 || end > 40 {
		return
	}
	t, err := time.ParseInLocation("Mon Jan _2 15:04:05.999999999 2006", line[1:end], p.loc)
	if err != nil || t.UTC().Year() < 1 || t.UTC().Year() > 9999 {
		return
	}
	setTime(ev, t)
	rest := line[end+1:]
	for i := 0; i < 4; i++ {
		rest = strings.TrimPrefix(rest, " ")
		if len(rest) == 0 || rest[0] != '[' {
			return
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return
		}
		part := rest[1:j]
		rest = rest[j+1:]
		switch {
		case strings.HasPrefix(part, "client "):
			addr := part[len("client "):]
			if host, _, err := net.SplitHostPort(addr); err == nil {
				addr = host
			}
			ev.Ip = validIP(addr)
		case strings.HasPrefix(part, "pid "):
		case i == 0:
			if k := strings.LastIndexByte(part, ':'); k >= 0 {
				part = part[k+1:]
			}
			ev.Fields["log.level"] = part
		}
	}
}

// isoPrefix reads a leading "2006-01-02 15:04:05" (also with "T", or "/" between the
// date's parts), an optional fraction after "." or "," and an optional zone ("Z",
// "+01:00", "+0100"): log4j/logback, Python, Zookeeper, Hadoop, nginx error logs.
// Without a zone the time is in the parser's location.
func (p *Parser) isoPrefix(line string) (time.Time, bool) {
	if len(line) < 19 || (line[10] != ' ' && line[10] != 'T') || line[4] != line[7] || (line[4] != '-' && line[4] != '/') {
		return time.Time{}, false
	}
	y, ok1 := num(line[0:4])
	mo, ok2 := num(line[5:7])
	d, ok3 := num(line[8:10])
	h, mi, sec, ok4 := clock(line[11:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || mo < 1 || mo > 12 || !validDay(y, time.Month(mo), d) || sec > 59 {
		return time.Time{}, false
	}
	rest := line[19:]
	nanos := 0
	if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') && rest[1] >= '0' && rest[1] <= '9' {
		i, scale := 1, 100000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if scale > 0 {
				nanos += int(rest[i]-'0') * scale
				scale /= 10
			}
			i++
		}
		rest = rest[i:]
	}
	loc := p.loc
	switch {
	case len(rest) > 0 && rest[0] == 'Z':
		loc = time.UTC
	case len(rest) >= 5 && (rest[0] == '+' || rest[0] == '-'):
		zh, okh := num(rest[1:3])
		zs := rest[3:]
		if zs[0] == ':' {
			zs = zs[1:]
		}
		zm, okm := 0, false
		if len(zs) >= 2 {
			zm, okm = num(zs[:2])
		}
		if okh && okm && zh <= 14 && zm <= 59 {
			off := (zh*60 + zm) * 60
			if rest[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		}
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nanos, loc)
	if u := t.UTC().Year(); u < 1 || u > 9999 { // a protobuf Timestamp holds years 1..9999
		return time.Time{}, false
	}
	return t, true
}
