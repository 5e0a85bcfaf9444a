package render

import (
	"fmt"
	"strings"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

var teamsMD = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "~", `\~`, "`", `\`+"`", "<", "&lt;", ">", "&gt;")

// TeamsText makes untrusted text inert in an Adaptive Card TextBlock (a markdown
// subset): sanitized (Sanitize), markdown and HTML escaped so no link, emphasis or tag
// comes from log content, and defanged (Defang) so no bare URL is linked.
func TeamsText(s string) string { return Clip(teamsMD.Replace(Defang(Sanitize(s))), 2000) }

// TeamsMessage is a Teams webhook message carrying one Adaptive Card.
type TeamsMessage struct {
	Type        string            `json:"type"`
	Attachments []TeamsAttachment `json:"attachments"`
}

// TeamsAttachment wraps the card.
type TeamsAttachment struct {
	ContentType string    `json:"contentType"`
	Content     TeamsCard `json:"content"`
}

// TeamsCard is an Adaptive Card.
type TeamsCard struct {
	Schema  string           `json:"$schema"`
	Type    string           `json:"type"`
	Version string           `json:"version"`
	Body    []map[string]any `json:"body"`
	Actions []map[string]any `json:"actions,omitempty"`
}

func teamsBlock(text string) map[string]any {
	return map[string]any{"type": "TextBlock", "wrap": true, "text": text}
}

func teamsColor(name string) string {
	if c := map[string]string{"critical": "Attention", "high": "Attention", "medium": "Warning"}[name]; c != "" {
		return c
	}
	return "Default"
}

// Teams renders n as an Adaptive Card.
func Teams(n notify.Notification) TeamsMessage {
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	if o := n.Overflow; o != nil {
		body := []map[string]any{{"type": "TextBlock", "size": "Large", "weight": "Bolder", "color": teamsColor(name), "wrap": true,
			"text": fmt.Sprintf("%d more alerts in %d messages (folded: the destination's backlog was longer than its rate allows)", o.Alerts, o.Notifications)}}
		for _, s := range severitiesDesc {
			if c := o.BySeverity[s]; c > 0 {
				nm, _, _ := Severity(s)
				body = append(body, teamsBlock(fmt.Sprintf("%s: %d", nm, c)))
			}
		}
		for _, t := range TopTitles(o, maxReasons) {
			body = append(body, teamsBlock(fmt.Sprintf("• %s × %d", TeamsText(t.Title), t.Alerts)))
		}
		return teamsMessage(TeamsCard{Body: body})
	}
	body := []map[string]any{
		{"type": "TextBlock", "size": "Large", "weight": "Bolder", "color": teamsColor(name), "wrap": true,
			"text": strings.ToUpper(name) + " " + TeamsText(title(a))},
		{"type": "FactSet", "facts": []map[string]string{
			{"title": "Entity", "value": TeamsText(a.GetEntity())},
			{"title": "Count", "value": fmt.Sprint(n.Count)},
			{"title": "First seen", "value": ts(n.FirstSeen)},
			{"title": "Last seen", "value": ts(n.LastSeen)},
		}},
	}
	for i, r := range Reasons(a) {
		if i == maxReasons {
			break
		}
		body = append(body, teamsBlock("• "+TeamsText(r)))
	}
	if s := a.GetLlmSummary(); strings.TrimSpace(s) != "" {
		body = append(body, teamsBlock("LLM summary (the model's opinion, not a detection; may be wrong): "+TeamsText(s)))
	}
	for i, e := range a.GetEvidence() {
		if i == maxEvidence {
			break
		}
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "fontType": "Monospace", "size": "Small", "text": TeamsText(e.GetRaw())})
	}
	if ids := AttackIDs(a); len(ids) > 0 {
		links := make([]string, len(ids))
		for i, id := range ids {
			links[i] = "[" + id + "](" + AttackURL(id) + ")"
		}
		body = append(body, teamsBlock("ATT&CK "+strings.Join(links, ", ")))
	}
	for _, au := range RuleAuthors(a) {
		body = append(body, teamsBlock("Rule by "+TeamsText(au)))
	}
	if fps := FalsePositives(a); len(fps) > 0 {
		for i := range fps {
			fps[i] = TeamsText(fps[i])
		}
		body = append(body, teamsBlock("Known false positives: "+strings.Join(fps, "; ")))
	}
	card := TeamsCard{Body: body}
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		card.Actions = []map[string]any{{"type": "Action.OpenUrl", "title": "Runbook", "url": u}}
	}
	return teamsMessage(card)
}

func teamsMessage(card TeamsCard) TeamsMessage {
	card.Schema, card.Type, card.Version = "http://adaptivecards.io/schemas/adaptive-card.json", "AdaptiveCard", "1.4"
	return TeamsMessage{Type: "message", Attachments: []TeamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
