package logparse

import (
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// A line's level is read only where its format states one; a line that does not say
// stays LOG_LEVEL_UNSPECIFIED (a word such as "error" in the middle of a message is
// not a level).

// headerTokens is how many leading tokens of a line may hold its level column
// (BlueGene/L RAS lines carry it as the 9th).
const headerTokens = 12

// msgTokens is how many leading tokens of a syslog message may hold a level.
const msgTokens = 6

// levelStart marks the first three letters (lower case) of the level spellings,
// a bit per prefix: wordLevel is asked about every token of a line's header, and
// most of them are not levels nor start like one.
var levelStart = func() (t [(26*26*26 + 63) / 64]uint64) {
	for _, w := range []string{"trace", "trc", "verbose", "debug", "dbg", "info", "inf", "information",
		"informational", "notice", "warn", "warning", "wrn", "error", "err", "severe", "crit", "critical",
		"fatal", "ftl", "dpanic", "failure", "alert", "emerg", "emergency", "panic"} {
		k, _ := levelPrefix(w)
		t[k/64] |= 1 << (k % 64)
	}
	return t
}()

// levelPrefix numbers the first three bytes of w (at least three) when they are
// ASCII letters, in any case.
func levelPrefix(w string) (k int, ok bool) {
	for i := 0; i < 3; i++ {
		c := w[i] | 0x20 // ASCII letters in lower case; other bytes fail the range check
		if c < 'a' || c > 'z' {
			return 0, false
		}
		k = k*26 + int(c-'a')
	}
	return k, true
}

// Level spellings, matched case-insensitively by wordLevel; what case a word
// may take in free text is decided by tokenLevel.
func wordLevel(w string) logwardenpb.LogLevel {
	if len(w) < 3 || len(w) > 13 {
		return 0
	}
	if k, ok := levelPrefix(w); !ok || levelStart[k/64]&(1<<(k%64)) == 0 {
		return 0
	}
	var buf [13]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(w)]) {
	case "trace", "trc", "verbose":
		return logwardenpb.LogLevel_LOG_LEVEL_TRACE
	case "debug", "dbg":
		return logwardenpb.LogLevel_LOG_LEVEL_DEBUG
	case "info", "inf", "information", "informational":
		return logwardenpb.LogLevel_LOG_LEVEL_INFO
	case "notice":
		return logwardenpb.LogLevel_LOG_LEVEL_NOTICE
	case "warn", "warning", "wrn":
		return logwardenpb.LogLevel_LOG_LEVEL_WARNING
	case "error", "err", "severe":
		return logwardenpb.LogLevel_LOG_LEVEL_ERROR
	case "crit", "critical", "fatal", "ftl", "dpanic", "failure":
		return logwardenpb.LogLevel_LOG_LEVEL_CRITICAL
	case "alert":
		return logwardenpb.LogLevel_LOG_LEVEL_ALERT
	case "emerg", "emergency", "panic":
		return logwardenpb.LogLevel_LOG_LEVEL_EMERGENCY
	}
	return 0
}

// tokenLevel reads a level word in a line's header. Upper case (ERROR, FATAL,
// "RAS KERNEL FATAL") counts anywhere in the header; a capitalised word (Info,
// Error: Windows CBS, .NET) only before the message's prose starts; a lower-case
// word only when it is marked as a level: bracketed ([error], <warn>) or followed
// by a colon (OpenSSH's "error: …", Go's "panic: …", Proxifier's "error : …").
func tokenLevel(w string, bracketed, colon, prose bool) logwardenpb.LogLevel {
	lv := wordLevel(w)
	if lv == 0 {
		return 0
	}
	upper, lower := true, true
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'a' <= c && c <= 'z' {
			upper = false
		} else if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	switch {
	case upper:
		return lv
	case lower:
		if bracketed || colon {
			if w == "failure" || w == "dpanic" {
				return 0
			}
			return lv
		}
	case !prose && w[0] >= 'A' && w[0] <= 'Z' && len(w) > 3:
		// "Info", "Error", "Warning"; not "Alert", "Panic", "Failure", which open sentences
		switch lv {
		case logwardenpb.LogLevel_LOG_LEVEL_ALERT, logwardenpb.LogLevel_LOG_LEVEL_EMERGENCY:
			return 0
		}
		if strings.EqualFold(w, "failure") {
			return 0
		}
		for i := 1; i < len(w); i++ {
			if w[i] < 'a' || w[i] > 'z' {
				return 0
			}
		}
		return lv
	}
	return 0
}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '|' }

// punct classes the punctuation around a header token (a table: strings.IndexByte on
// a set of a few bytes is a function call per byte of every token).
var punct = func() (t [256]uint8) {
	for _, c := range []byte("[(<{\"'") {
		t[c] |= opening
	}
	for _, c := range []byte("])>}\"',;.-") {
		t[c] |= closing
	}
	return t
}()

const (
	opening = 1 << iota // may open a token: [ ( < { and quotes
	closing             // may close a token (the colon aside): ] ) > } quotes , ; . -
)

// headerLevel scans the first max tokens of s for a level column or a
// key=value level (logfmt).
func headerLevel(s string, max int) logwardenpb.LogLevel {
	prose := false
	for n := 0; n < max; n++ {
		for len(s) > 0 && isSep(s[0]) {
			s = s[1:]
		}
		if s == "" {
			return 0
		}
		end, eq := 0, -1 // eq: the token's first '='
		for end < len(s) && !isSep(s[end]) {
			if eq < 0 && s[end] == '=' {
				eq = end
			}
			end++
		}
		tok, rest := s[:end], s[end:]
		s = rest
		if lv, ok := logfmtLevel(tok, eq); ok {
			return lv
		}
		bracketed, colon := false, false
		for len(tok) > 0 && punct[tok[0]]&opening != 0 {
			bracketed = bracketed || tok[0] != '"' && tok[0] != '\''
			tok = tok[1:]
		}
		for len(tok) > 0 {
			c := tok[len(tok)-1]
			if c == ':' {
				colon = true
			} else if punct[c]&closing == 0 {
				break
			}
			tok = tok[:len(tok)-1]
		}
		if !colon && len(rest) >= 2 && rest[0] == ' ' && rest[1] == ':' && (len(rest) == 2 || isSep(rest[2])) {
			colon = true // "error : …"
		}
		if lv := tokenLevel(tok, bracketed, colon, prose); lv != 0 {
			return lv
		}
		// "ERROR:root:message" (Python's default format), "WARN:component"
		if n == 0 {
			if i := strings.IndexByte(tok, ':'); i >= 3 {
				if lv := tokenLevel(tok[:i], false, true, prose); lv != 0 {
					return lv
				}
			}
		}
		if !prose && !bracketed && !colon && isWord(tok) {
			prose = true
		}
	}
	return 0
}

// isWord reports a lower-case word of two letters or more: the message has begun.
func isWord(s string) bool {
	if len(s) < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// logfmtLevel reads level=…, lvl=…, severity=… (any case of the value); i is
// the index of the token's first '=' (-1: none).
func logfmtLevel(tok string, i int) (logwardenpb.LogLevel, bool) {
	if i < 3 || i > 9 {
		return 0, false
	}
	switch tok[:i] {
	case "level", "lvl", "severity", "loglevel", "log.level":
	default:
		return 0, false
	}
	v := strings.Trim(tok[i+1:], `"'`)
	return valueLevel(v), true
}

// ParseLevel reads the value of a level field of a structured record (any case:
// "error", "WARN", "Information"; slog "ERROR+2"; bunyan/pino numbers 10–60);
// LOG_LEVEL_UNSPECIFIED when it is none of them.
func ParseLevel(v string) logwardenpb.LogLevel { return valueLevel(v) }

// valueLevel reads the value of a level field: a word (any case; slog's "ERROR+2"
// counts as ERROR) or a bunyan/pino number (10 trace … 60 fatal).
func valueLevel(v string) logwardenpb.LogLevel {
	if j := strings.IndexAny(v, "+-"); j > 0 {
		v = v[:j]
	}
	if lv := wordLevel(v); lv != 0 {
		return lv
	}
	switch v {
	case "10":
		return logwardenpb.LogLevel_LOG_LEVEL_TRACE
	case "20":
		return logwardenpb.LogLevel_LOG_LEVEL_DEBUG
	case "30":
		return logwardenpb.LogLevel_LOG_LEVEL_INFO
	case "40":
		return logwardenpb.LogLevel_LOG_LEVEL_WARNING
	case "50":
		return logwardenpb.LogLevel_LOG_LEVEL_ERROR
	case "60":
		return logwardenpb.LogLevel_LOG_LEVEL_CRITICAL
	}
	return 0
}

var jsonLevelKeys = [...]string{`"level"`, `"severity"`, `"lvl"`, `"levelname"`, `"log.level"`, `"loglevel"`, `"@l"`}

// jsonLevel reads the level field of a JSON log line (zap, logrus, slog, bunyan,
// pino, Serilog compact, GCP, ECS "log.level" or {"log":{"level":…}}).
func jsonLevel(line string) logwardenpb.LogLevel {
	for _, key := range jsonLevelKeys {
		s := line
		for {
			i := strings.Index(s, key)
			if i < 0 {
				break
			}
			s = s[i+len(key):]
			v := strings.TrimLeft(s, " \t")
			if len(v) == 0 || v[0] != ':' {
				continue
			}
			v = strings.TrimLeft(v[1:], " \t")
			if len(v) > 0 && v[0] == '"' {
				end := strings.IndexByte(v[1:], '"')
				if end < 0 || end > 16 {
					continue
				}
				if lv := valueLevel(v[1 : 1+end]); lv != 0 {
					return lv
				}
				continue
			}
			end := 0
			for end < len(v) && end < 3 && v[end] >= '0' && v[end] <= '9' {
				end++
			}
			if lv := valueLevel(v[:end]); lv != 0 {
				return lv
			}
		}
	}
	return 0
}

// priLevel reads the severity of a "<PRI>" prefix (RFC 3164 and 5424).
func priLevel(line string) logwardenpb.LogLevel {
	if len(line) < 3 || line[0] != '<' {
		return 0
	}
	j := strings.IndexByte(line, '>')
	if j < 2 || j > 4 {
		return 0
	}
	pri, ok := num(line[1:j])
	if !ok || pri > 191 {
		return 0
	}
	return [8]logwardenpb.LogLevel{
		logwardenpb.LogLevel_LOG_LEVEL_EMERGENCY, logwardenpb.LogLevel_LOG_LEVEL_ALERT,
		logwardenpb.LogLevel_LOG_LEVEL_CRITICAL, logwardenpb.LogLevel_LOG_LEVEL_ERROR,
		logwardenpb.LogLevel_LOG_LEVEL_WARNING, logwardenpb.LogLevel_LOG_LEVEL_NOTICE,
		logwardenpb.LogLevel_LOG_LEVEL_INFO, logwardenpb.LogLevel_LOG_LEVEL_DEBUG,
	}[pri&7]
}

// klogLevel reads Kubernetes klog/glog's "E1201 12:34:56.789012 …".
func klogLevel(line string) logwardenpb.LogLevel {
	if len(line) < 14 || line[5] != ' ' || line[8] != ':' || line[11] != ':' {
		return 0
	}
	if _, ok := num(line[1:5]); !ok {
		return 0
	}
	if _, _, _, ok := clock(line[6:14]); !ok {
		return 0
	}
	return letterLevel(line[0], "IWEF")
}

// letterLevel maps a one-letter level (Android V D I W E F A; klog I W E F) when
// it is one of allowed.
func letterLevel(c byte, allowed string) logwardenpb.LogLevel {
	if strings.IndexByte(allowed, c) < 0 {
		return 0
	}
	switch c {
	case 'V':
		return logwardenpb.LogLevel_LOG_LEVEL_TRACE
	case 'D':
		return logwardenpb.LogLevel_LOG_LEVEL_DEBUG
	case 'I':
		return logwardenpb.LogLevel_LOG_LEVEL_INFO
	case 'W':
		return logwardenpb.LogLevel_LOG_LEVEL_WARNING
	case 'E':
		return logwardenpb.LogLevel_LOG_LEVEL_ERROR
	case 'F', 'A':
		return logwardenpb.LogLevel_LOG_LEVEL_CRITICAL
	}
	return 0
}

// logcatLevel reads Android logcat: threadtime "03-17 16:13:38.811  1702  2395 D Tag: …"
// and brief "D/Tag( 1702): …".
func logcatLevel(line string) logwardenpb.LogLevel {
	if len(line) > 3 && line[1] == '/' {
		if i := strings.IndexByte(line, '('); i > 2 && i < 64 && strings.Contains(line[i:min(len(line), i+16)], "):") {
			return letterLevel(line[0], "VDIWEFA")
		}
		return 0
	}
	if len(line) < 20 || line[2] != '-' || line[5] != ' ' || line[8] != ':' {
		return 0
	}
	s := line
	for i := 0; i < 4; i++ { // date, time, pid, tid
		tok, rest := nextField(strings.TrimLeft(s, " "))
		if tok == "" {
			return 0
		}
		if i >= 2 {
			if _, ok := num(tok); !ok {
				return 0
			}
		}
		s = rest
	}
	s = strings.TrimLeft(s, " ")
	if len(s) < 3 || s[1] != ' ' {
		return 0
	}
	return letterLevel(s[0], "VDIWEFA")
}

// httpLevel maps an access log's status: 5xx error, 4xx warning, else info.
func httpLevel(status string) logwardenpb.LogLevel {
	switch {
	case status == "":
		return 0
	case status[0] == '5':
		return logwardenpb.LogLevel_LOG_LEVEL_ERROR
	case status[0] == '4':
		return logwardenpb.LogLevel_LOG_LEVEL_WARNING
	}
	return logwardenpb.LogLevel_LOG_LEVEL_INFO
}

// lineLevel is the level of a line of the given format; msg is a syslog line's
// message (after the tag).
func lineLevel(line, format, msg string, ev *logwardenpb.LogEvent) logwardenpb.LogLevel {
	var lv logwardenpb.LogLevel
	switch format {
	case FormatTutorial:
		return 0
	case FormatCombined:
		return httpLevel(ev.Fields["http.status"])
	case FormatSyslog, FormatAuth:
		if lv = jsonOrHeader(msg, msgTokens); lv == 0 {
			lv = priLevel(line)
		}
		return lv
	}
	if l := ev.Fields["log.level"]; l != "" { // apache error log "[error]"
		if lv = wordLevel(l); lv != 0 {
			return lv
		}
	}
	if lv = klogLevel(line); lv != 0 {
		return lv
	}
	if lv = logcatLevel(line); lv != 0 {
		return lv
	}
	if lv = jsonOrHeader(line, headerTokens); lv != 0 {
		return lv
	}
	return priLevel(line)
}

func jsonOrHeader(s string, tokens int) logwardenpb.LogLevel {
	t := s
	for len(t) > 0 && (t[0] == ' ' || t[0] == '\t') {
		t = t[1:] // strings.TrimLeft builds its byte set on every call
	}
	if len(t) > 0 && t[0] == '{' {
		return jsonLevel(t)
	}
	return headerLevel(s, tokens)
}
