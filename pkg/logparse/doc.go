// Package logparse turns one untrusted log line into the structured fields of a
// logwardenpb.LogEvent. It is on the classifier's hot path, so it never panics, does not
// use regular expressions, and allocates only the event's timestamp and fields map.
//
// Data flow: Parse(line, ev) cuts the line at Options.MaxLineBytes, repairs invalid UTF-8,
// sets ev.Raw, then tries the formats below in order and fills ev.Time (when the line
// carries a time), ev.User, ev.Ip, ev.Action, ev.Target, ev.Host (syslog, only when the
// source left it empty) and ev.Fields.
//
// Formats (ev.Fields["parse.format"]):
//
//	tutorial  [02/Jan/2006 15:04:05] [<ip>] <user> logged in successfully | failed to log in |
//	          accessed file '<name>' | executed command '<cmd>' | accessed directory '<path>'
//	auth      syslog lines from sshd, sshd-session, sudo, su whose message is understood
//	          (sshd Accepted/Failed <method> for [invalid user] X from IP port N,
//	          Invalid user X from IP, message repeated N times: [ Failed … ],
//	          sudo "X : TTY=… ; PWD=… ; USER=root ; COMMAND=…")
//	syslog    any other RFC 3164 line "Mon _2 15:04:05 host prog[pid]: msg", optionally with
//	          a "<PRI>" prefix, or with an RFC 3339 timestamp instead (rsyslog's default)
//	combined  nginx/apache combined or common access logs
//	          ip ident user [02/Jan/2006:15:04:05 -0700] "GET /path HTTP/1.1" status bytes "ref" "ua"
//	raw       anything else (a leading apache error-log time "[Sun Dec 04 04:47:44 2005]",
//	          its "[level]" and "[client ip:port]" are still picked up)
//
// Normalised actions (ev.Action), which detection rules match on:
//
//	login         a successful login (tutorial "logged in successfully", sshd "Accepted …")
//	login_failed  a failed login (tutorial "failed to log in", sshd "Failed …",
//	              "Invalid user X from IP"; note that OpenSSH logs one attempt of an unknown
//	              user twice: "Invalid user" then "Failed password for invalid user")
//	file_access   target = the file name
//	command       target = the command line
//	dir_access    target = the directory
//	sudo          target = the command run through sudo; fields sudo.run_as, sudo.tty,
//	              sudo.pwd, and sudo.error when sudo refused ("3 incorrect password attempts")
//	http_request  target = the request URI; fields http.method, http.status, http.bytes,
//	              http.protocol, http.referer, http.user_agent
//
// Other fields: syslog.program, syslog.pid, syslog.repeated, ssh.method, ssh.port,
// ssh.invalid_user, log.level, plus the metadata parse.format, parse.truncated="true" (the
// line was longer than MaxLineBytes and was cut at a rune boundary) and
// parse.invalid_utf8="true" (invalid bytes were replaced by U+FFFD).
//
// Level (ev.Level, ordered by severity) is read only where the line states it, and
// stays LOG_LEVEL_UNSPECIFIED otherwise (never guessed from the message's wording):
//
//	syslog    a level marker at the start of the message ("error: …", "[WARN] …",
//	          "ERROR …"), else the "<PRI>" prefix's severity (also RFC 5424)
//	combined  the status: 5xx error, 4xx warning, else info
//	JSON      "level", "severity", "lvl", "levelname", "log.level", "loglevel", "@l"
//	          (zap, logrus, slog "ERROR+2", bunyan/pino numbers 10–60, GCP, ECS, Serilog)
//	klog      "E1201 12:34:56.789012 …" (I, W, E, F)
//	logcat    "03-17 16:13:38.811  1702  2395 E Tag: …" and "E/Tag( 123): …"
//	other     within the first 12 tokens: logfmt level=…; an upper-case level word
//	          (log4j/logback/Python/Hadoop/Spark/Zookeeper columns, "RAS KERNEL FATAL");
//	          a capitalised one before the message's first lower-case word (Windows
//	          "Info", "Error"); a lower-case one only bracketed ("[error]") or before a
//	          colon ("error:", "panic:", "error :"); apache error logs' "[level]"
//
// Words: trace/trc/verbose, debug/dbg, info/inf/information, notice, warn/warning/wrn,
// error/err/severe, crit/critical/fatal/ftl/failure/dpanic, alert, emerg/emergency/panic.
//
// Times without a zone (tutorial, RFC 3164 syslog) are read in Options.Location (default
// UTC). RFC 3164 lines have no year: it is taken from Options.Now (default time.Now), and a
// date more than 7 days ahead of that reference is put in the previous year (December
// lines read in January).
package logparse
