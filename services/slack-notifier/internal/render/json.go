package render

import (
	"time"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Doc is the generic webhook document. Strings are the raw values (evidence is not
// altered): the receiver escapes and sanitizes for its own medium; JSON encoding keeps
// them inert as data. Links are only ever built from validated values (runbook_url,
// attack_ids).
type Doc struct {
	Group          string       `json:"group"`
	ID             string       `json:"id"`
	Severity       string       `json:"severity"`
	Title          string       `json:"title"`
	Entity         string       `json:"entity"`
	Reasons        []string     `json:"reasons"`
	Evidence       []string     `json:"evidence"`
	Count          int64        `json:"count"`
	FirstSeen      time.Time    `json:"first_seen"`
	LastSeen       time.Time    `json:"last_seen"`
	RunbookURL     string       `json:"runbook_url,omitempty"`
	FollowUp       bool         `json:"follow_up"`
	LLMSummary     string       `json:"llm_summary,omitempty"`
	AttackIDs      []string     `json:"attack_ids,omitempty"`
	RuleAuthors    []string     `json:"rule_authors,omitempty"`
	FalsePositives []string     `json:"false_positives,omitempty"`
	Overflow       *OverflowDoc `json:"overflow,omitempty"`
}

// OverflowDoc describes an "N more alerts" message in the generic document.
type OverflowDoc struct {
	Notifications int            `json:"notifications"`
	Alerts        int            `json:"alerts"`
	BySeverity    map[string]int `json:"by_severity"`
	ByTitle       map[string]int `json:"by_title"`
}

// JSON renders n for the generic webhook.
func JSON(n notify.Notification) Doc {
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	d := Doc{Group: n.GroupKey, ID: a.GetId(), Severity: name, Title: a.GetTitle(), Entity: a.GetEntity(),
		Reasons: Reasons(a), Count: n.Count, FirstSeen: n.FirstSeen.UTC(), LastSeen: n.LastSeen.UTC(),
		RunbookURL: RunbookURL(a.GetRunbookUrl()), FollowUp: n.Seq > 0, Evidence: []string{},
		LLMSummary: a.GetLlmSummary(), AttackIDs: AttackIDs(a), RuleAuthors: RuleAuthors(a), FalsePositives: FalsePositives(a)}
	if d.Reasons == nil {
		d.Reasons = []string{}
	}
	for i, e := range a.GetEvidence() {
		if i == maxEvidence {
			break
		}
		d.Evidence = append(d.Evidence, e.GetRaw())
	}
	if o := n.Overflow; o != nil {
		od := &OverflowDoc{Notifications: o.Notifications, Alerts: o.Alerts, BySeverity: map[string]int{}, ByTitle: map[string]int{}}
		for s, c := range o.BySeverity {
			nm, _, _ := Severity(s)
			od.BySeverity[nm] += c
		}
		for t, c := range o.Titles {
			od.ByTitle[t] = c
		}
		d.Overflow = od
	}
	return d
}
