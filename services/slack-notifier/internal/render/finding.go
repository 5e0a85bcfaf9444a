package render

import (
	"regexp"
	"sort"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// attackID is a MITRE ATT&CK technique or sub-technique id.
var attackID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// AttackURL is the attack.mitre.org page of a technique id ("T1059.004" →
// https://attack.mitre.org/techniques/T1059/004/), or "" when id is not one: a link is
// only ever built from a validated id.
func AttackURL(id string) string {
	if !attackID.MatchString(id) {
		return ""
	}
	return "https://attack.mitre.org/techniques/" + strings.Replace(id, ".", "/", 1) + "/"
}

// AttackIDs are the distinct valid ATT&CK ids of a's findings, in order (at most 10).
// Anything else in attack_ids is dropped.
func AttackIDs(a *logwardenpb.Alert) []string {
	var out []string
	for _, f := range a.GetFindings() {
		for _, id := range f.GetAttackIds() {
			if len(out) == maxAttackIDs {
				return out
			}
			if AttackURL(id) != "" && !contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// RuleAuthors are the distinct authors of the rules behind a's findings (at most 3).
func RuleAuthors(a *logwardenpb.Alert) []string {
	var out []string
	for _, f := range a.GetFindings() {
		if au := strings.TrimSpace(f.GetRuleAuthor()); au != "" && !contains(out, au) && len(out) < maxExtras {
			out = append(out, au)
		}
	}
	return out
}

// FalsePositives are the distinct known false positives the rules name (at most 3).
func FalsePositives(a *logwardenpb.Alert) []string {
	var out []string
	for _, f := range a.GetFindings() {
		for _, fp := range f.GetFalsePositives() {
			if fp = strings.TrimSpace(fp); fp != "" && !contains(out, fp) && len(out) < maxExtras {
				out = append(out, fp)
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TitleCount is one line of an overflow message.
type TitleCount struct {
	Title  string
	Alerts int
}

// TopTitles are o's most frequent titles, most alerts first (ties by title), at most n.
func TopTitles(o *notify.Overflow, n int) []TitleCount {
	out := make([]TitleCount, 0, len(o.Titles))
	for t, c := range o.Titles {
		out = append(out, TitleCount{t, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Alerts != out[j].Alerts {
			return out[i].Alerts > out[j].Alerts
		}
		return out[i].Title < out[j].Title
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
