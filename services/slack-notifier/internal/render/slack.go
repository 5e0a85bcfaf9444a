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
	maxContext     = 10 // elements of a context block
	maxEvidence    = 10
	maxReasons     = 10
	maxAttackIDs   = 10
	maxExtras      = 3 // rule authors, false positives
)

// Text is a Block Kit text object. Every mrkdwn object of ours is verbatim (Slack links
// no bare URL or channel name in it); plain_text objects say emoji: false (":smile:"
// in a title stays text).
type Text struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Emoji    *bool  `json:"emoji,omitempty"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

// Block is one Block Kit layout block (header, section, context, actions).
type Block struct {
	Type     string    `json:"type"`
	BlockID  string    `json:"block_id,omitempty"`
	Text     *Text     `json:"text,omitempty"`
	Fields   []*Text   `json:"fields,omitempty"`
	Elements []Element `json:"elements,omitempty"`
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

// md is an mrkdwn text object; its text is ours, with untrusted parts already rendered
// through Code or CodeBlock.
func md(s string) *Text { return &Text{Type: "mrkdwn", Text: s, Verbatim: true} }

var noEmoji = false

func plainText(s string) *Text { return &Text{Type: "plain_text", Text: s, Emoji: &noEmoji} }

func section(s string) Block { return Block{Type: "section", Text: md(Clip(s, MaxSectionText))} }

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

// Fallback is the notification text (shown in notifications and by clients without
// Block Kit): Slack parses it as mrkdwn without a verbatim switch, so the untrusted parts
// are code spans of defanged text.
func Fallback(n notify.Notification) string {
	if n.Overflow != nil {
		return fmt.Sprintf("[OVERFLOW] %d more alerts in %d messages", n.Overflow.Alerts, n.Overflow.Notifications)
	}
	name, _, _ := Severity(n.Alert.GetSeverity())
	s := fmt.Sprintf("[%s] %s: %s (%d alerts)", strings.ToUpper(name), Code(Defang(title(n.Alert)), 500),
		Code(Defang(n.Alert.GetEntity()), 500), n.Count)
	return Clip(s, MaxSectionText)
}

// Slack renders n as a Block Kit message within Slack's limits: a header, then the
// body blocks in the severity-coloured attachment, each built by its own function
// below (a new part of the message is a new function in the list).
func Slack(n notify.Notification) Message {
	if n.Overflow != nil {
		return slackOverflow(n)
	}
	a := n.Alert
	name, _, color := Severity(a.GetSeverity())
	header := Block{Type: "header", Text: plainText(Clip(strings.ToUpper(name)+" "+Plain(title(a), MaxHeaderText), MaxHeaderText))}
	var body []Block
	for _, part := range []func(notify.Notification) []Block{facts, why, llmSummary, evidence, footer} {
		body = append(body, part(n)...)
	}
	top := append([]Block{header}, actions(n)...)
	if len(body) > MaxBlocks-len(top) {
		body = body[:MaxBlocks-len(top)]
	}
	return Message{Text: Fallback(n), Blocks: top, Attachments: []Attachment{{Color: color, Blocks: body}}}
}

func facts(n notify.Notification) []Block {
	name, emoji, _ := Severity(n.Alert.GetSeverity())
	return []Block{{Type: "section", Fields: []*Text{
		md(fmt.Sprintf("*Severity*\n%s %s", emoji, name)),
		md("*Entity*\n" + Code(n.Alert.GetEntity(), 1900)),
		md(fmt.Sprintf("*Count*\n%d", n.Count)),
		md(fmt.Sprintf("*First / last seen*\n%s / %s", ts(n.FirstSeen), ts(n.LastSeen))),
	}}}
}

func why(n notify.Notification) []Block {
	rs := Reasons(n.Alert)
	if len(rs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("*Why*")
	for i, r := range rs {
		if i == maxReasons {
			fmt.Fprintf(&b, "\n• %d more", len(rs)-maxReasons)
			break
		}
		b.WriteString("\n• " + Code(r, 1000))
	}
	return []Block{section(b.String())}
}

// llmSummary shows the classifier's LLM summary, marked as the model's opinion and
// rendered like log content (the model read log content).
func llmSummary(n notify.Notification) []Block {
	s := n.Alert.GetLlmSummary()
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return []Block{section("*LLM summary* _(the model's opinion, not a detection; may be wrong)_\n" + Code(s, 2500))}
}

func evidence(n notify.Notification) []Block {
	ev := n.Alert.GetEvidence()
	if len(ev) == 0 {
		return nil
	}
	lines := make([]string, 0, min(len(ev), maxEvidence)+1)
	for i, e := range ev {
		if i == maxEvidence {
			lines = append(lines, fmt.Sprintf("… %d more lines", len(ev)-maxEvidence))
			break
		}
		lines = append(lines, e.GetRaw())
	}
	return []Block{{Type: "section", Text: md("*Evidence*\n" + CodeBlock(lines, MaxSectionText-len("*Evidence*\n")))}}
}

// footer is the context block: runbook and ATT&CK links (built only from validated values),
// the rules' authors and known false positives, and the alert and group ids.
func footer(n notify.Notification) []Block {
	a := n.Alert
	var els []Element
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		els = append(els, md("<"+u+"|Runbook>"))
	}
	if ids := AttackIDs(a); len(ids) > 0 {
		links := make([]string, len(ids))
		for i, id := range ids {
			links[i] = "<" + AttackURL(id) + "|" + id + ">"
		}
		els = append(els, md("ATT&amp;CK "+strings.Join(links, ", ")))
	}
	for _, au := range RuleAuthors(a) {
		els = append(els, md("Rule by "+Code(au, 200)))
	}
	if fps := FalsePositives(a); len(fps) > 0 {
		parts := make([]string, len(fps))
		for i, fp := range fps {
			parts[i] = Code(fp, 200)
		}
		els = append(els, md("Known false positives: "+strings.Join(parts, ", ")))
	}
	els = append(els, md(Clip("alert "+Code(a.GetId(), 200)+" · group "+Code(n.GroupKey, 200), 2000)))
	if len(els) > maxContext {
		els = els[len(els)-maxContext:]
	}
	return []Block{{Type: "context", Elements: els}}
}

// slackOverflow renders an "N more alerts" message: counts by severity and title.
func slackOverflow(n notify.Notification) Message {
	o := n.Overflow
	name, _, color := Severity(n.Alert.GetSeverity())
	header := Block{Type: "header", Text: plainText(fmt.Sprintf("%d more alerts (up to %s)", o.Alerts, strings.ToUpper(name)))}
	var sev strings.Builder
	sev.WriteString("*By severity*")
	for _, s := range severitiesDesc {
		if c := o.BySeverity[s]; c > 0 {
			nm, emoji, _ := Severity(s)
			fmt.Fprintf(&sev, "\n%s %s: %d", emoji, nm, c)
		}
	}
	var tb strings.Builder
	tb.WriteString("*By title*")
	titles := TopTitles(o, maxReasons)
	for _, t := range titles {
		fmt.Fprintf(&tb, "\n• %s × %d", Code(t.Title, 200), t.Alerts)
	}
	if rest := len(o.Titles) - len(titles); rest > 0 {
		fmt.Fprintf(&tb, "\n• %d more titles", rest)
	}
	body := []Block{
		section(fmt.Sprintf("These %d messages were folded into one to keep up with the destination's rate limit (slack.rate_per_second, slack.overflow_after).", o.Notifications)),
		section(sev.String()),
		section(tb.String()),
		{Type: "context", Elements: []Element{md(fmt.Sprintf("first %s · last %s", ts(n.FirstSeen), ts(n.LastSeen)))}},
	}
	return Message{Text: Fallback(n), Blocks: []Block{header}, Attachments: []Attachment{{Color: color, Blocks: body}}}
}

var severitiesDesc = []logwardenpb.Severity{
	logwardenpb.Severity_SEVERITY_CRITICAL, logwardenpb.Severity_SEVERITY_HIGH, logwardenpb.Severity_SEVERITY_MEDIUM,
	logwardenpb.Severity_SEVERITY_LOW, logwardenpb.Severity_SEVERITY_INFO, logwardenpb.Severity_SEVERITY_UNSPECIFIED,
}

// Terminal renders n as a compact block of a few lines for stdout.
func Terminal(n notify.Notification) string {
	var b strings.Builder
	if o := n.Overflow; o != nil {
		fmt.Fprintf(&b, "▌ OVERFLOW %d more alerts in %d messages\n", o.Alerts, o.Notifications)
		for _, s := range severitiesDesc {
			if c := o.BySeverity[s]; c > 0 {
				nm, _, _ := Severity(s)
				fmt.Fprintf(&b, "  %s: %d\n", nm, c)
			}
		}
		for _, t := range TopTitles(o, 3) {
			fmt.Fprintf(&b, "  %s × %d\n", plain(t.Title), t.Alerts)
		}
		return b.String()
	}
	a := n.Alert
	name, _, _ := Severity(a.GetSeverity())
	fmt.Fprintf(&b, "▌ %-8s %s\n", strings.ToUpper(name), plain(title(a)))
	fmt.Fprintf(&b, "  entity: %s   count: %d   first: %s   last: %s\n", plain(a.GetEntity()), n.Count, ts(n.FirstSeen), ts(n.LastSeen))
	for i, r := range Reasons(a) {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "  why: %s\n", plain(r))
	}
	if s := a.GetLlmSummary(); s != "" {
		fmt.Fprintf(&b, "  llm (opinion): %s\n", plain(s))
	}
	if ev := a.GetEvidence(); len(ev) > 0 {
		fmt.Fprintf(&b, "  e.g. %s\n", plain(ev[len(ev)-1].GetRaw()))
	}
	if ids := AttackIDs(a); len(ids) > 0 {
		fmt.Fprintf(&b, "  att&ck: %s\n", strings.Join(ids, ", "))
	}
	for _, au := range RuleAuthors(a) {
		fmt.Fprintf(&b, "  rule by: %s\n", plain(au))
	}
	if u := RunbookURL(a.GetRunbookUrl()); u != "" {
		fmt.Fprintf(&b, "  runbook: %s\n", u)
	}
	return b.String()
}

// plain makes untrusted text safe for a terminal: no escape sequences, no bidi tricks,
// no line breaks; cut to 200 runes.
func plain(s string) string {
	return Clip(Sanitize(s), 200)
}
