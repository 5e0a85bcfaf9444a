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
	// Channel is the routed channel for bot-token sinks ("" = the default channel).
	Channel string
}
