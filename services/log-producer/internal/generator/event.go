package generator

import (
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
)

// Label is the ground truth of one event.
type Label struct {
	Anomalous  bool
	Scenario   string
	IncidentID string
}

// Event is one simulated log line before rendering.
type Event struct {
	Time   time.Time
	IP     string
	User   string
	Action string // a logparse action: login, login_failed, file_access, command, dir_access
	Target string
	Label  Label
}

// Line renders the event in the tutorial's format, with the IP:
//
//	[02/Jan/2006 15:04:05] 10.10.3.4 alice accessed file '/home/alice/docs/plan.md'
func (e Event) Line() string { return string(e.AppendLine(make([]byte, 0, 96+len(e.Target)))) }

// AppendLine appends Line to b (no allocation when b has room).
func (e Event) AppendLine(b []byte) []byte {
	b = append(b, '[')
	b = e.Time.UTC().AppendFormat(b, "02/Jan/2006 15:04:05")
	b = append(b, "] "...)
	if e.IP != "" {
		b = append(b, e.IP...)
		b = append(b, ' ')
	}
	b = append(b, e.User...)
	switch e.Action {
	case logparse.ActionLogin:
		b = append(b, " logged in successfully"...)
	case logparse.ActionLoginFailed:
		b = append(b, " failed to log in"...)
	case logparse.ActionFileAccess:
		b = appendQuoted(append(b, " accessed file "...), e.Target)
	case logparse.ActionCommand:
		b = appendQuoted(append(b, " executed command "...), e.Target)
	case logparse.ActionDirAccess:
		b = appendQuoted(append(b, " accessed directory "...), e.Target)
	}
	return b
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '\'')
	b = append(b, s...)
	return append(b, '\'')
}
