package notify

import (
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Notification is one message about a group of alerts. Alert is the most recent alert of
// the group; Count counts every alert of the group since it opened; New counts the
// alerts this notification covers for the first time.
type Notification struct {
	GroupKey  string
	Alert     *logwardenpb.Alert
	Count     int64
	New       int
	FirstSeen time.Time
	LastSeen  time.Time
	// Seq is 0 for the group's first message and n for its n-th follow-up.
	Seq int
	// Overflow, when set, makes this one "N more alerts" message standing for several
	// notifications that their destination could not post one by one within the
	// backlog bound. Alert is then the most severe alert among them.
	Overflow *Overflow
}

// Overflow counts what an "N more alerts" message stands for.
type Overflow struct {
	Notifications int                          // messages folded into this one
	Alerts        int                          // alerts they cover for the first time
	BySeverity    map[logwardenpb.Severity]int // alerts per severity
	Titles        map[string]int               // alerts per title
}

// Add folds n into o.
func (o *Overflow) Add(n Notification) {
	if o.BySeverity == nil {
		o.BySeverity = map[logwardenpb.Severity]int{}
		o.Titles = map[string]int{}
	}
	if n.Overflow != nil {
		o.Notifications += n.Overflow.Notifications
		o.Alerts += n.Overflow.Alerts
		for s, c := range n.Overflow.BySeverity {
			o.BySeverity[s] += c
		}
		for t, c := range n.Overflow.Titles {
			o.Titles[t] += c
		}
		return
	}
	o.Notifications++
	o.Alerts += n.New
	o.BySeverity[n.Alert.GetSeverity()] += n.New
	o.Titles[n.Alert.GetTitle()] += n.New
}
