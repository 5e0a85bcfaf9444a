package render

import (
	"time"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Doc is the generic webhook document. Strings are the raw values: the receiver escapes
// for its own medium (JSON encoding already keeps them inert as data).
type Doc struct {
	Group      string    `json:"group"`
	ID         string    `json:"id"`
	Severity   string    `json:"severity"`
	Title      string    `json:"title"`
	Entity     string    `json:"entity"`
	Reasons    []string  `json:"reasons"`
	Evidence   []string  `json:"evidence"`
	Count      int64     `json:"count"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	RunbookURL string    `json:"runbook_url,omitempty"`
	FollowUp   bool      `json:"follow_up"`
}

// JSON renders n for the generic webhook.
func JSON(n notify.Notification) Doc {
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	d := Doc{Group: n.GroupKey, ID: a.GetId(), Severity: name, Title: a.GetTitle(), Entity: a.GetEntity(),
		Reasons: Reasons(a), Count: n.Count, FirstSeen: n.FirstSeen.UTC(), LastSeen: n.LastSeen.UTC(),
		RunbookURL: RunbookURL(a.GetRunbookUrl()), FollowUp: n.Seq > 0, Evidence: []string{}}
	if d.Reasons == nil {
		d.Reasons = []string{}
	}
	for i, e := range a.GetEvidence() {
		if i == maxEvidence {
			break
		}
		d.Evidence = append(d.Evidence, e.GetRaw())
	}
	return d
}
