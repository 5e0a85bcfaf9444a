package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// The action ids of the buttons; the interaction handler accepts these and nothing else.
const (
	ActionAcknowledge = "lw_ack"
	ActionSilence1h   = "lw_silence_1h"
	ActionSilence24h  = "lw_silence_24h"
	ActionNotAnIssue  = "lw_not_an_issue"
)

// ActionsBlockID is the block_id of a message's buttons: "lw/" + its ref.
func ActionsBlockID(ref string) string { return "lw/" + ref }

// Element is an element of a context block (a text object) or of an actions block (a
// button).
type Element interface{ element() }

func (*Text) element()   {}
func (*Button) element() {}

// Button is a Block Kit button. Its value is the message's ref and nothing else: the
// notifier made it, no log content is in it.
type Button struct {
	Type     string   `json:"type"` // "button"
	ActionID string   `json:"action_id"`
	Text     *Text    `json:"text"`
	Value    string   `json:"value,omitempty"`
	Style    string   `json:"style,omitempty"`
	Confirm  *Confirm `json:"confirm,omitempty"`
}

// Confirm is the dialog a button asks before it acts.
type Confirm struct {
	Title   *Text `json:"title"`
	Text    *Text `json:"text"`
	Confirm *Text `json:"confirm"`
	Deny    *Text `json:"deny"`
}

// UnmarshalJSON reads a block, its elements as buttons or text objects by their type.
func (b *Block) UnmarshalJSON(data []byte) error {
	type plain Block
	var raw struct {
		plain
		Elements []json.RawMessage `json:"elements,omitempty"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*b = Block(raw.plain)
	b.Elements = nil
	for _, e := range raw.Elements {
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(e, &kind); err != nil {
			return err
		}
		var el Element
		if kind.Type == "button" {
			el = &Button{}
		} else {
			el = &Text{}
		}
		if err := json.Unmarshal(e, el); err != nil {
			return err
		}
		b.Elements = append(b.Elements, el)
	}
	return nil
}

// userID is what a Slack user id looks like; only such ids become mentions.
var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Who names the person of a mark: a mention of a valid user id, else their name as
// code (a name is text Slack gave us; it is still shown inert).
func Who(m *notify.Mark) string {
	if userID.MatchString(m.UserID) {
		return "<@" + m.UserID + ">"
	}
	if m.By == "" {
		return "someone"
	}
	return Code(m.By, 100)
}

// actions are the top-level blocks a bot message with interactivity gets: what people
// did (a context block) and the buttons of the actions not taken yet (an actions
// block whose block_id and button values carry the message's ref).
func actions(n notify.Notification) []Block {
	a := n.Actions
	if a == nil || n.Ref == "" || n.Overflow != nil {
		return nil
	}
	var out []Block
	var done []Element
	escalated := a.Acknowledged != nil && n.Alert.GetSeverity() > a.Acknowledged.Severity
	if m := a.Acknowledged; m != nil {
		s := fmt.Sprintf(":white_check_mark: Acknowledged by %s at %s", Who(m), ts(m.At))
		if escalated {
			s += "; more severe since"
		}
		done = append(done, md(s))
	}
	if m := a.Silenced; m != nil {
		done = append(done, md(fmt.Sprintf(":no_bell: Silenced by %s until %s", Who(m), ts(m.Until))))
	}
	if m := a.NotAnIssue; m != nil {
		done = append(done, md(fmt.Sprintf(":heavy_minus_sign: Not an issue, said %s: the classifier accepts this pattern until %s", Who(m), ts(m.Until))))
	}
	if len(done) > 0 {
		out = append(out, Block{Type: "context", Elements: done})
	}
	var buttons []Element
	button := func(id, label, style string) *Button {
		return &Button{Type: "button", ActionID: id, Text: plainText(label), Value: n.Ref, Style: style}
	}
	if a.Acknowledged == nil || escalated {
		buttons = append(buttons, button(ActionAcknowledge, "Acknowledge", "primary"))
	}
	// A silence over before the group's latest alert (which was posted, so it was
	// not muted) no longer holds: its buttons come back.
	if a.Silenced == nil || !a.Silenced.Until.After(n.LastSeen) {
		buttons = append(buttons, button(ActionSilence1h, "Silence 1h", ""), button(ActionSilence24h, "Silence 24h", ""))
	}
	if a.NotAnIssue == nil {
		b := button(ActionNotAnIssue, "Not an issue", "danger")
		b.Confirm = &Confirm{Title: plainText("Not an issue?"),
			Text:    &Text{Type: "plain_text", Text: "The classifier will stop alerting on this pattern for this user (the same command shape) or this host (the same kind of line) for a while. Anyone can see who said so; it can be revoked.", Emoji: &noEmoji},
			Confirm: plainText("Not an issue"), Deny: plainText("Cancel")}
		buttons = append(buttons, b)
	}
	if len(buttons) > 0 {
		out = append(out, Block{Type: "actions", BlockID: ActionsBlockID(n.Ref), Elements: buttons})
	}
	return out
}

// Reply texts of the thread replies that make every action visible. who is Who's
// answer; the rest is ours or code spans.
func ReplyAcknowledged(who string, at time.Time) string {
	return fmt.Sprintf(":white_check_mark: %s acknowledged this alert at %s; repeats are held until it closes or gets more severe.", who, ts(at))
}

// ReplySilenced says who silenced which alerts until when, and how to undo it.
func ReplySilenced(who, matchers, id string, until time.Time) string {
	return fmt.Sprintf(":no_bell: %s silenced %s until %s (silence %s; `slack-notifier silence expire %s` ends it).",
		who, Code(matchers, 500), ts(until), Code(id, 40), strings.TrimSpace(Plain(id, 40)))
}

// ReplyNotAnIssue says who marked the alert a false positive and until when the
// classifier accepts its pattern.
func ReplyNotAnIssue(who, id string, until time.Time) string {
	return fmt.Sprintf(":heavy_minus_sign: %s marked this alert not an issue: the classifier accepts this pattern until %s (feedback %s; `anomaly-classifier feedback revoke %s` undoes it).",
		who, ts(until), Code(id, 40), strings.TrimSpace(Plain(id, 40)))
}
