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
	// Ref names the group's message for its buttons: random, made when the group
	// opened; "" for an overflow message.
	Ref string
	// Update re-renders the group's message in place instead of posting: the
	// follow-up of an acknowledged group, or a change of what people did with it.
	Update bool
	// Actions, when set, gives the message its buttons and shows what people did with
	// it (the bot sink with Slack interactivity sets it).
	Actions *Actions
}

// Actions is what people did with a message; a nil mark is an action not taken.
type Actions struct {
	Acknowledged *Mark
	Silenced     *Mark
	NotAnIssue   *Mark
}

// Mark is one action taken on a message.
type Mark struct {
	UserID string // the Slack user id (U…, W…)
	By     string // how to name them when UserID is not a valid id
	At     time.Time
	Until  time.Time // silenced: the silence's end; not an issue: when the acceptance lapses
	// Severity is, for an acknowledgement, the group's severity then: a more severe
	// alert breaks it.
	Severity logwardenpb.Severity
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
