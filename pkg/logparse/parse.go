package logparse

import (
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Format names, the values of Fields["parse.format"].
const (
	FormatTutorial = "tutorial"
	FormatSyslog   = "syslog"
	FormatAuth     = "auth"
	FormatCombined = "combined"
	FormatRaw      = "raw"
)

// Normalised actions, the values of LogEvent.action.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionFileAccess  = "file_access"
	ActionCommand     = "command"
	ActionDirAccess   = "dir_access"
	ActionSudo        = "sudo"
	ActionHTTPRequest = "http_request"
)

// Metadata field names.
const (
	FieldFormat      = "parse.format"
	FieldTruncated   = "parse.truncated"
	FieldInvalidUTF8 = "parse.invalid_utf8"
)

// DefaultMaxLineBytes is the default limit of one line.
const DefaultMaxLineBytes = 64 << 10

// Options configure a Parser. The zero value is usable.
type Options struct {
	// MaxLineBytes cuts longer lines (default 64 KiB).
	MaxLineBytes int
	// Now is the reference time that gives RFC 3164 syslog lines their year (default time.Now).
	Now func() time.Time
	// Location of times written without a zone (default UTC).
	Location *time.Location
}

// Parser parses log lines. It holds no mutable state: one Parser is safe for concurrent use.
type Parser struct {
	max int
	now func() time.Time
	loc *time.Location
}

// New returns a Parser with opts' defaults filled in.
func New(opts Options) *Parser {
	p := &Parser{max: opts.MaxLineBytes, now: opts.Now, loc: opts.Location}
	if p.max <= 0 {
		p.max = DefaultMaxLineBytes
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	return p
}

// MaxLineBytes is the limit lines are cut at.
func (p *Parser) MaxLineBytes() int { return p.max }

// Parse fills ev from line. It sets Raw, User, Ip, Action, Target and Level (empty or
// unspecified when the line has none), Time only when the line carries one, Host only when the line names one and
// ev.Host is empty, and adds to ev.Fields (created when nil). Pass a fresh or reset event.
// A trailing "\n" or "\r\n" is dropped. Parse never panics, whatever the input.
func (p *Parser) Parse(line string, ev *logwardenpb.LogEvent) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1] // strings.TrimRight builds its byte set on every call
	}
	truncated := false
	if len(line) > p.max {
		line = cutAtRune(line, p.max)
		truncated = true
	}
	invalid := false
	if !utf8.ValidString(line) {
		invalid = true
		line = strings.ToValidUTF8(line, "\uFFFD")
		if len(line) > p.max {
			line = cutAtRune(line, p.max)
			truncated = true
		}
	}
	if ev.Fields == nil {
		ev.Fields = make(map[string]string, 1)
	}
	if truncated {
		ev.Fields[FieldTruncated] = "true"
	}
	if invalid {
		ev.Fields[FieldInvalidUTF8] = "true"
	}
	ev.Raw = line
	ev.User, ev.Ip, ev.Action, ev.Target = "", "", "", ""

	format, msg := FormatRaw, ""
	switch {
	case p.parseTutorial(line, ev):
		format = FormatTutorial
	default:
		var ok bool
		if msg, ok = p.parseSyslog(line, ev); ok {
			format = FormatSyslog
			if parseAuth(msg, ev) {
				format = FormatAuth
			}
		} else if p.parseCombined(line, ev) {
			format = FormatCombined
		} else {
			p.parseRaw(line, ev)
		}
	}
	ev.Fields[FieldFormat] = format
	ev.Level = lineLevel(line, format, msg, ev)
}

// cutAtRune returns the longest prefix of s of at most n bytes that does not split a rune.
func cutAtRune(s string, n int) string {
	if n >= len(s) {
		return s
	}
	i := n
	// Back off over continuation bytes (at most 3) so a multi-byte rune is not split.
	for j := 0; j < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	return s[:i]
}

func setTime(ev *logwardenpb.LogEvent, t time.Time) {
	if ev.Time == nil {
		ev.Time = timestamppb.New(t)
		return
	}
	ev.Time.Seconds, ev.Time.Nanos = t.Unix(), int32(t.Nanosecond())
}

// num parses s (all ASCII digits) as a non-negative number; ok is false otherwise.
func num(s string) (n int, ok bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func month(s string) (time.Month, bool) {
	switch s {
	case "Jan":
		return time.January, true
	case "Feb":
		return time.February, true
	case "Mar":
		return time.March, true
	case "Apr":
		return time.April, true
	case "May":
		return time.May, true
	case "Jun":
		return time.June, true
	case "Jul":
		return time.July, true
	case "Aug":
		return time.August, true
	case "Sep":
		return time.September, true
	case "Oct":
		return time.October, true
	case "Nov":
		return time.November, true
	case "Dec":
		return time.December, true
	}
	return 0, false
}

// clock parses "15:04:05" at s[0:8].
func clock(s string) (h, m, sec int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := num(s[0:2])
	m, ok2 := num(s[3:5])
	sec, ok3 := num(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

// validDay reports whether d is a day of month m of year y (time.Date would normalise).
// Years outside 1..9999 are rejected: a protobuf Timestamp cannot hold them.
func validDay(y int, m time.Month, d int) bool {
	if d < 1 || d > 31 || y < 1 || y > 9999 || m < time.January || m > time.December {
		return false
	}
	n := monthDays[m-1]
	if m == time.February && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		n = 29 // the proleptic Gregorian calendar, as time.Date's
	}
	return d <= n
}

var monthDays = [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// nextField splits s at the first space: the token before and the rest after it.
func nextField(s string) (tok, rest string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}
