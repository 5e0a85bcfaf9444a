package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const (
	MaxBlocks      = 50
	MaxSectionText = 3000
	MaxHeaderText  = 150
	MaxMessage     = 40000
	maxEvidence    = 10
	maxReasons     = 10
)

// Text is a Block Kit text object.
type Text struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Block is one Block Kit layout block (header, section, context, divider).
type Block struct {
	Type     string  `json:"type"`
	Text     *Text   `json:"text,omitempty"`
	Fields   []*Text `json:"fields,omitempty"`
	Elements []*Text `json:"elements,omitempty"`
}

// Attachment carries the severity colour and the body blocks.
type Attachment struct {
	Color  string  `json:"color"`
	Blocks []Block `json:"blocks"`
}

// Message is the Slack payload (webhook body, or chat.postMessage without channel).
type Message struct {
	Channel     string       `json:"channel,omitempty"`
	ThreadTS    string       `json:"thread_ts,omitempty"`
	TS          string       `json:"ts,omitempty"`
	Text        string       `json:"text"`
	Blocks      []Block      `json:"blocks"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

type sevStyle struct{ name, emoji, color string }

var sevStyles = map[logwardenpb.Severity]sevStyle{
	logwardenpb.Severity_SEVERITY_CRITICAL: {"critical", ":rotating_light:", "#8B0000"},
	logwardenpb.Severity_SEVERITY_HIGH:     {"high", ":red_circle:", "#E01E5A"},
	logwardenpb.Severity_SEVERITY_MEDIUM:   {"medium", ":large_orange_circle:", "#ECB22E"},
	logwardenpb.Severity_SEVERITY_LOW:      {"low", ":large_yellow_circle:", "#F2C744"},
	logwardenpb.Severity_SEVERITY_INFO:     {"info", ":large_blue_circle:", "#36C5F0"},
}

// Severity returns the display name, emoji and colour of s.
func Severity(s logwardenpb.Severity) (name, emoji, color string) {
	st, ok := sevStyles[s]
	if !ok {
		return "unknown", ":white_circle:", "#9E9E9E"
	}
	return st.name, st.emoji, st.color
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// Reasons are the distinct reasons of the alert's findings, falling back to the summary.
func Reasons(a *logwardenpb.Alert) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range a.GetFindings() {
		r := f.GetReason()
		if r == "" {
			r = f.GetTitle()
		}
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	if len(out) == 0 && a.GetSummary() != "" {
		out = append(out, a.GetSummary())
	}
	return out
}

func title(a *logwardenpb.Alert) string {
	if a.GetTitle() != "" {
		return a.GetTitle()
	}
	return "anomaly"
}

// Fallback is the plain-text notification text (escaped: Slack parses it as mrkdwn).
func Fallback(n notify.Notification) string {
	name, _, _ := Severity(n.Alert.GetSeverity())
	s := fmt.Sprintf("[%s] %s: %s (%d alerts)", strings.ToUpper(name), Inline(title(n.Alert)), Inline(n.Alert.GetEntity()), n.Count)
	return Clip(s, MaxSectionText)
}

// Slack renders n as a Block Kit message within Slack's limits.
func Slack(n notify.Notification) Message {
	a := n.Alert
	name, emoji, color := Severity(a.GetSeverity())
	// The header is plain_text: Slack does not parse mentions there, but it is escaped
	// anyway so that every surface shows the same text.
	header := Block{Type: "header", Text: &Text{Type: "plain_text", Emoji: true,
		Text: Clip(fmt.Sprintf("%s %s", strings.ToUpper(name), Inline(title(a))), MaxHeaderText)}}

	fields := []*Text{
		{Type: "mrkdwn", Text: fmt.Sprintf("*Severity*\n%s %s", emoji, name)},
		{Type: "mrkdwn", Text: Clip("*Entity*\n"+Inline(a.GetEntity()), 2000)},
		{Type: "mrkdwn", Text: fmt.Sprintf("*Count*\n%d", n.Count)},
		{Type: "mrkdwn", Text: fmt.Sprintf("*First / last seen*\n%s / %s", ts(n.FirstSeen), ts(n.LastSeen))},
	}
	body := []Block{{Type: "section", Fields: fields}}

	var why strings.Builder
	why.WriteString("*Why*")
	rs := Reasons(a)
	for i, r := range rs {
		if i == maxReasons {
			fmt.Fprintf(&why, "\n• %d more", len(rs)-maxReasons)
			break
		}
		why.WriteString("\n• " + Inline(r))
	}
	if len(rs) > 0 {
		body = append(body, Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: Clip(why.String(), MaxSectionText)}})
	}

	if ev := a.GetEvidence(); len(ev) > 0 {
		var b strings.Builder
		for i, e := range ev {
			if i == maxEvidence {
				fmt.Fprintf(&b, "… %d more lines\n", len(ev)-maxEvidence)
				break
			}
			b.WriteString(EscapeCode(strings.TrimRight(e.GetRaw(), "\r\n")) + "\n")
		}
		lines := Clip(strings.TrimRight(b.String(), "\n"), MaxSectionText-len("*Evidence*\n```\n\n```"))
		body = append(body, Block{Type: "section", Text: &Text{Type: "mrkdwn", Text: "*Evidence*\n```\n" + lines + "\n```"}})
	}

	var ctx []*Text
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		ctx = append(ctx, &Text{Type: "mrkdwn", Text: "<" + u + "|Runbook>"})
	}
	ctx = append(ctx, &Text{Type: "mrkdwn", Text: Clip("alert "+Inline(a.GetId())+" · group "+Inline(shortKey(n.GroupKey)), 2000)})
	body = append(body, Block{Type: "context", Elements: ctx})

	if len(body) > MaxBlocks-1 {
		body = body[:MaxBlocks-1]
	}
	return Message{Text: Fallback(n), Blocks: []Block{header}, Attachments: []Attachment{{Color: color, Blocks: body}}}
}

func shortKey(k string) string {
	if len(k) > 80 {
		return k[:80]
	}
	return k
}

// Terminal renders n as a compact block of a few lines for stdout.
func Terminal(n notify.Notification) string {
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	var b strings.Builder
	fmt.Fprintf(&b, "▌ %-8s %s\n", strings.ToUpper(name), plain(title(a)))
	fmt.Fprintf(&b, "  entity: %s   count: %d   first: %s   last: %s\n", plain(a.GetEntity()), n.Count, ts(n.FirstSeen), ts(n.LastSeen))
	for i, r := range Reasons(a) {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "  why: %s\n", plain(r))
	}
	if ev := a.GetEvidence(); len(ev) > 0 {
		fmt.Fprintf(&b, "  e.g. %s\n", plain(ev[len(ev)-1].GetRaw()))
	}
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		fmt.Fprintf(&b, "  runbook: %s\n", u)
	}
	return b.String()
}

// plain strips control characters (terminal escape sequences) and cuts long text.
func plain(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return Clip(s, 200)
}
