// Package taxonomy maps a parsed LogEvent to Sigma events (Sigma's log sources and field
// names), so Sigma rules written for process, file and network telemetry or for syslog
// text run on log lines. docs/rules.md has the field table.
//
// Data flow: Mapper.Map(ev) returns one "message" event for every line (the raw line as
// the keyword text, its user/ip/host/action/target/program) and, for a command
// (logparse actions command and sudo), one process_creation event per command that
// shellcmd finds in the line — wrapped and decoded payloads included — plus the files
// it writes (file_event), the files it reads (file_access), the hosts it connects to
// (network_connection) and an auditd EXECVE record of its argument vector. A file event
// (action file_access) becomes a file_access event. Command analyses are cached by
// command text (commands repeat).
package taxonomy

import (
	"path"
	"strconv"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/shellcmd"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

// Log sources the mapping produces.
var (
	ProcessCreation   = sigma.Source{Category: "process_creation", Product: "linux"}
	FileEvent         = sigma.Source{Category: "file_event", Product: "linux"}
	FileAccess        = sigma.Source{Category: "file_access", Product: "linux"}
	NetworkConnection = sigma.Source{Category: "network_connection", Product: "linux"}
	Auditd            = sigma.Source{Product: "linux", Services: "auditd"}
)

const sudoServices = "sudo,auth,syslog"

// messageSources are the sources of the message event, by syslog program.
var messageSources = []sigma.Source{
	{Product: "linux"},
	{Product: "linux", Services: "auth"},
	{Product: "linux", Services: "syslog"},
	{Product: "linux", Services: "auth,syslog"},
	{Product: "linux", Services: "sshd,auth,syslog"},
	{Product: "linux", Services: sudoServices},
	{Product: "linux", Services: "cron,syslog"},
	{Product: "linux", Services: "vsftpd,syslog"},
	{Product: "linux", Services: "clamav,syslog"},
	{Product: "linux", Services: "guacamole,syslog"},
}

// Field sets per kind of event. Extension fields (not in Sigma's taxonomy) are
// documented in docs/rules.md.
var (
	common        = []string{"User", "SourceIp", "Host"}
	processFields = append([]string{"Image", "CommandLine", "CurrentDirectory", "ParentImage", "ParentCommandLine",
		"Args", "Env", "PipeFrom", "PipeTo", "Via", "RedirectOut", "RedirectIn", "SubjectUser"}, common...)
	fileFields    = append([]string{"TargetFilename", "Image", "CommandLine"}, common...)
	netFields     = append([]string{"Image", "CommandLine", "DestinationHostname", "DestinationIp", "DestinationPort", "Initiated"}, common...)
	sudoFields    = []string{"USER", "COMMAND", "PWD", "TTY"}
	messageFields = append([]string{sigma.Keywords, "Action", "Target", "Program"}, common...)
)

func fieldSet(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

type kind struct {
	src    sigma.Source
	fields map[string]bool // nil: any field (auditd records carry every key=value)
}

func kinds() []kind {
	out := []kind{
		{ProcessCreation, fieldSet(processFields)},
		{FileEvent, fieldSet(fileFields)},
		{FileAccess, fieldSet(fileFields)},
		{NetworkConnection, fieldSet(netFields)},
		{Auditd, nil},
	}
	for _, s := range messageSources {
		fs := fieldSet(messageFields)
		if s.Services == sudoServices {
			for _, f := range sudoFields {
				fs[f] = true
			}
		}
		out = append(out, kind{s, fs})
	}
	return out
}

// Options returns the sigma.Options of this taxonomy: which log sources and fields exist.
func Options() sigma.Options {
	ks := kinds()
	return sigma.Options{
		Covered: func(l sigma.Logsource) bool {
			for _, k := range ks {
				if k.src.Covers(l) {
					return true
				}
			}
			return false
		},
		KnownField: func(l sigma.Logsource, name string) bool {
			for _, k := range ks {
				if k.src.Covers(l) && (k.fields == nil || k.fields[name]) {
					return true
				}
			}
			return false
		},
	}
}

// Mapper turns LogEvents into Sigma events. Not safe for concurrent use.
type Mapper struct {
	an     *shellcmd.Analyzer
	cache  map[string]*shellcmd.Analysis
	events []sigma.Event
	n      int
}

// cacheSize bounds the command analysis cache.
const cacheSize = 8192

// NewMapper returns a Mapper.
func NewMapper() *Mapper {
	return &Mapper{an: shellcmd.New(), cache: map[string]*shellcmd.Analysis{}}
}

// Analyze returns the (cached) analysis of a command line.
func (m *Mapper) Analyze(line string) *shellcmd.Analysis {
	if a, ok := m.cache[line]; ok {
		return a
	}
	a := m.an.Analyze(line)
	if len(m.cache) >= cacheSize {
		n := 0
		for k := range m.cache { // drop about a quarter, arbitrary ones
			delete(m.cache, k)
			if n++; n >= cacheSize/4 {
				break
			}
		}
	}
	m.cache[line] = &a
	return &a
}

func (m *Mapper) next(src sigma.Source) *sigma.Event {
	if m.n == len(m.events) {
		m.events = append(m.events, sigma.Event{})
	}
	e := &m.events[m.n]
	m.n++
	e.Reset(src)
	return e
}

// Map returns the Sigma events of ev: the message event first, then the derived
// ones. The slice and the events are reused by the next call.
func (m *Mapper) Map(ev *logwardenpb.LogEvent) []sigma.Event {
	m.MapMessage(ev)
	m.MapDerived(ev)
	return m.events[:m.n]
}

// MapMessage returns the message event of ev alone (reused by the next call).
func (m *Mapper) MapMessage(ev *logwardenpb.LogEvent) *sigma.Event {
	m.n = 0
	msg := m.next(messageSource(ev))
	msg.Add(sigma.Keywords, ev.GetRaw())
	addCommon(msg, ev, ev.GetUser())
	addNonEmpty(msg, "Action", ev.GetAction())
	addNonEmpty(msg, "Target", ev.GetTarget())
	addNonEmpty(msg, "Program", ev.GetFields()["syslog.program"])
	if msg.Source.Services == sudoServices {
		// sudo's own key=value fields (sudo lines that ran something)
		f := ev.GetFields()
		addNonEmpty(msg, "USER", f["sudo.run_as"])
		addNonEmpty(msg, "PWD", f["sudo.pwd"])
		addNonEmpty(msg, "TTY", f["sudo.tty"])
		if ev.GetAction() == "sudo" {
			addNonEmpty(msg, "COMMAND", ev.GetTarget())
		}
	}
	return msg
}

// Message returns the message event of the last MapMessage.
func (m *Mapper) Message() *sigma.Event { return &m.events[0] }

// MayDerive reports whether ev may have derived events (a command or a file
// access with a target): when it has none, a caller skips what it does for them
// (the rules stage's result cache costs a key and a lookup per event).
func MayDerive(ev *logwardenpb.LogEvent) bool {
	if ev.GetTarget() == "" {
		return false
	}
	switch ev.GetAction() {
	case "command", "sudo", "file_access":
		return true
	}
	return false
}

// MapDerived appends the derived events of ev after its message event (MapMessage
// first) and returns them.
func (m *Mapper) MapDerived(ev *logwardenpb.LogEvent) []sigma.Event {
	m.n = 1

	switch ev.GetAction() {
	case "command", "sudo":
		if t := ev.GetTarget(); t != "" {
			m.command(ev, t)
		}
	case "file_access":
		if t := ev.GetTarget(); t != "" {
			f := m.next(FileAccess)
			f.Add("TargetFilename", t)
			addCommon(f, ev, ev.GetUser())
		}
	}
	return m.events[1:m.n]
}

func addNonEmpty(e *sigma.Event, name, v string) {
	if v != "" {
		e.Add(name, v)
	}
}

func addCommon(e *sigma.Event, ev *logwardenpb.LogEvent, user string) {
	addNonEmpty(e, "User", user)
	addNonEmpty(e, "SourceIp", ev.GetIp())
	addNonEmpty(e, "Host", ev.GetHost())
}

func messageSource(ev *logwardenpb.LogEvent) sigma.Source {
	f := ev.GetFields()
	prog := f["syslog.program"]
	switch {
	case prog == "sshd" || prog == "sshd-session":
		return messageSources[4]
	case prog == "sudo":
		return messageSources[5]
	case prog == "su" || prog == "login" || prog == "passwd" || prog == "useradd" || prog == "usermod" ||
		prog == "userdel" || prog == "groupadd" || prog == "chpasswd" || prog == "systemd-logind" ||
		prog == "polkitd" || prog == "chage" || prog == "gpasswd" || strings.HasPrefix(prog, "pam"):
		return messageSources[3]
	case prog == "cron" || prog == "CRON" || prog == "crond" || prog == "anacron":
		return messageSources[6]
	case prog == "vsftpd":
		return messageSources[7]
	case prog == "clamd" || prog == "freshclam" || prog == "clamav":
		return messageSources[8]
	case prog == "guacd" || prog == "guacamole":
		return messageSources[9]
	case prog != "":
		return messageSources[2]
	}
	if a := ev.GetAction(); a == "login" || a == "login_failed" {
		return messageSources[1]
	}
	return messageSources[0]
}

// command adds the events of a command line.
func (m *Mapper) command(ev *logwardenpb.LogEvent, line string) {
	user := ev.GetUser()
	parentImage, parentCmd := "", ""
	cwd := ev.GetFields()["sudo.pwd"]
	if ev.GetAction() == "sudo" {
		// The command runs as the target user, started by sudo.
		parentImage, parentCmd = "/usr/bin/sudo", "sudo "+line
		if ru := ev.GetFields()["sudo.run_as"]; ru != "" {
			user = ru
		} else {
			user = "root"
		}
	}
	a := m.Analyze(line)
	if !a.Parsed || len(a.Commands) == 0 {
		// The parser rejected the line (or it has no command): match its raw text,
		// with the whitespace-separated words standing in for the argument vector so
		// an unparsable suffix cannot hide the command from argv-based rules.
		words := strings.Fields(line)
		p := m.next(ProcessCreation)
		if len(words) > 0 {
			p.Add("Image", shellcmd.ResolveImage(words[0]))
		}
		p.Add("CommandLine", line)
		m.processCommon(p, ev, user, cwd, parentImage, parentCmd)
		for i, w := range words {
			if i > 0 && i < 64 {
				p.Add("Args", w)
			}
		}
		if len(words) > 0 {
			c := shellcmd.Command{Argv: words[:min(len(words), 64)], Text: line}
			m.files(ev, &c, shellcmd.ResolveImage(words[0]), user, cwd)
		}
		return
	}
	top := 0
	for i := range a.Commands {
		if a.Commands[i].Parent < 0 {
			top++
		}
	}
	if top > 1 || len(a.Decoded) > 0 {
		// The whole line, as a shell running it would show it.
		p := m.next(ProcessCreation)
		p.Add("CommandLine", line)
		m.processCommon(p, ev, user, cwd, parentImage, parentCmd)
	}
	for i := range a.Commands {
		c := &a.Commands[i]
		if len(c.Argv) == 0 {
			if len(c.Env) > 0 { // assignments alone (HISTSIZE=0) change the shell's environment
				p := m.next(ProcessCreation)
				p.Add("CommandLine", c.Text)
				m.processCommon(p, ev, user, cwd, parentImage, parentCmd)
				for _, x := range c.Env {
					p.Add("Env", x)
				}
			}
			m.files(ev, c, "", user, cwd) // a bare redirection
			continue
		}
		image := shellcmd.ResolveImage(c.Argv[0])
		p := m.next(ProcessCreation)
		p.Add("Image", image)
		p.Add("CommandLine", c.Text)
		pi, pc := parentImage, parentCmd
		if c.Parent >= 0 {
			pp := &a.Commands[c.Parent]
			pi, pc = shellcmd.ResolveImage(pp.Argv[0]), pp.Text
		}
		m.processCommon(p, ev, user, cwd, pi, pc)
		for _, x := range c.Argv[1:] {
			p.Add("Args", x)
		}
		for _, x := range c.Env {
			p.Add("Env", x)
		}
		for _, j := range c.PipeFrom {
			p.Add("PipeFrom", shellcmd.ResolveImage(a.Commands[j].Argv0()))
		}
		for _, j := range c.PipeTo {
			p.Add("PipeTo", shellcmd.ResolveImage(a.Commands[j].Argv0()))
		}
		if c.Via != "" {
			p.Add("Via", c.Via)
		}
		for _, r := range c.Redirects {
			switch {
			case r.Writes():
				p.Add("RedirectOut", m.path(r.Target, user, cwd))
			case r.Reads():
				p.Add("RedirectIn", m.path(r.Target, user, cwd))
			}
		}
		// auditd EXECVE record of the same execution
		x := m.next(Auditd)
		x.Add("type", "EXECVE")
		x.Add("argc", strconv.Itoa(len(c.Argv)))
		for k, arg := range c.Argv {
			if k >= 20 {
				break
			}
			x.Add(argName[k], arg)
		}
		addCommon(x, ev, user)
		m.files(ev, c, image, user, cwd)
		m.network(ev, c, image, user)
	}
}

var argName = func() []string {
	out := make([]string, 20)
	for i := range out {
		out[i] = "a" + strconv.Itoa(i)
	}
	return out
}()

func (m *Mapper) processCommon(p *sigma.Event, ev *logwardenpb.LogEvent, user, cwd, parentImage, parentCmd string) {
	addCommon(p, ev, user)
	if user != ev.GetUser() {
		addNonEmpty(p, "SubjectUser", ev.GetUser())
	}
	addNonEmpty(p, "CurrentDirectory", cwd)
	addNonEmpty(p, "ParentImage", parentImage)
	addNonEmpty(p, "ParentCommandLine", parentCmd)
}

// path makes a file operand absolute where the shell would: ~ and $HOME become the
// user's home, and a relative name is joined to the working directory when it is known.
func (m *Mapper) path(p, user, cwd string) string {
	home := "/home/" + user
	if user == "root" || user == "" {
		home = "/root"
	}
	switch {
	case p == "~" || p == "$HOME" || p == "${HOME}":
		return home
	case strings.HasPrefix(p, "~/"):
		return home + p[1:]
	case strings.HasPrefix(p, "$HOME/"):
		return home + p[5:]
	case strings.HasPrefix(p, "${HOME}/"):
		return home + p[7:]
	case strings.HasPrefix(p, "~") && strings.Contains(p, "/"):
		u, rest, _ := strings.Cut(p[1:], "/")
		if u == "root" {
			return "/root/" + rest
		}
		return "/home/" + u + "/" + rest
	case cwd != "" && p != "" && p[0] != '/' && p[0] != '$' && p != "-":
		return path.Join(cwd, p)
	}
	return p
}

func (m *Mapper) fileEvent(src sigma.Source, ev *logwardenpb.LogEvent, c *shellcmd.Command, image, user, target string) {
	if target == "" || target == "-" || strings.HasPrefix(target, "/dev/fd/") || target == "/dev/null" {
		return
	}
	f := m.next(src)
	f.Add("TargetFilename", target)
	f.Add("Image", image)
	f.Add("CommandLine", c.Text)
	addCommon(f, ev, user)
}
