package render

import (
	"fmt"
	"strings"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

var teamsMD = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`,
	"#", `\#`, "~", `\~`, "`", `\`+"`", "<", "&lt;", ">", "&gt;", "\r", " ", "\n", " ")

// TeamsText escapes untrusted text for an Adaptive Card TextBlock (markdown subset): no
// links, emphasis or HTML can come from log content.
func TeamsText(s string) string { return Clip(teamsMD.Replace(s), 2000) }

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

// Teams renders n as an Adaptive Card.
func Teams(n notify.Notification) TeamsMessage {
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	color := map[string]string{"critical": "Attention", "high": "Attention", "medium": "Warning"}[name]
	if color == "" {
		color = "Default"
	}
	body := []map[string]any{
		{"type": "TextBlock", "size": "Large", "weight": "Bolder", "color": color, "wrap": true,
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
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "text": "• " + TeamsText(r)})
	}
	for i, e := range a.GetEvidence() {
		if i == maxEvidence {
			break
		}
		body = append(body, map[string]any{"type": "TextBlock", "wrap": true, "fontType": "Monospace", "size": "Small", "text": TeamsText(e.GetRaw())})
	}
	card := TeamsCard{Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4", Body: body}
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		card.Actions = []map[string]any{{"type": "Action.OpenUrl", "title": "Runbook", "url": u}}
	}
	return TeamsMessage{Type: "message", Attachments: []TeamsAttachment{{ContentType: "application/vnd.microsoft.card.adaptive", Content: card}}}
}
