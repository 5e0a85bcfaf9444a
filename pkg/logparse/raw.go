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
