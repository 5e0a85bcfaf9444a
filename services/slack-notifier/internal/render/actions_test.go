package render

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

const ref = "0123456789abcdef01234567"

func withActions(a *notify.Actions) notify.Notification {
	n := notification(bruteForce())
	n.Ref, n.Actions = ref, a
	return n
}

// The bot's message with buttons, before and after people acted on it.
func TestGoldenActions(t *testing.T) {
	at := last.Add(5 * time.Minute)
	marked := &notify.Actions{
		Acknowledged: &notify.Mark{UserID: "U0123ABC", At: at, Severity: logwardenpb.Severity_SEVERITY_HIGH},
		Silenced:     &notify.Mark{UserID: "U0456DEF", At: at, Until: at.Add(time.Hour)},
		NotAnIssue:   &notify.Mark{UserID: "not a user id <!channel>", By: "eve <!here>", At: at, Until: at.Add(30 * 24 * time.Hour)},
	}
	golden(t, "actions.slack", marshal(t, Slack(withActions(&notify.Actions{}))))
	golden(t, "actions_taken.slack", marshal(t, Slack(withActions(marked))))
}

func buttons(m Message) (ids []string, blockID string) {
	for _, b := range m.Blocks {
		if b.Type != "actions" {
			continue
		}
		blockID = b.BlockID
		for _, e := range b.Elements {
			ids = append(ids, e.(*Button).ActionID)
		}
	}
	return ids, blockID
}

func TestButtons(t *testing.T) {
	at := last.Add(time.Minute)
	for _, tt := range []struct {
		name string
		n    notify.Notification
		want []string
	}{
		{"no interactivity (webhook)", notification(bruteForce()), nil},
		{"all four", withActions(&notify.Actions{}), []string{ActionAcknowledge, ActionSilence1h, ActionSilence24h, ActionNotAnIssue}},
		{"acknowledged", withActions(&notify.Actions{Acknowledged: &notify.Mark{UserID: "U1", At: at, Severity: logwardenpb.Severity_SEVERITY_HIGH}}),
			[]string{ActionSilence1h, ActionSilence24h, ActionNotAnIssue}},
		{"acknowledged, more severe since", withActions(&notify.Actions{Acknowledged: &notify.Mark{UserID: "U1", At: at, Severity: logwardenpb.Severity_SEVERITY_MEDIUM}}),
			[]string{ActionAcknowledge, ActionSilence1h, ActionSilence24h, ActionNotAnIssue}},
		{"silenced", withActions(&notify.Actions{Silenced: &notify.Mark{UserID: "U1", At: at, Until: at.Add(time.Hour)}}), []string{ActionAcknowledge, ActionNotAnIssue}},
		{"a silence over before the latest alert", withActions(&notify.Actions{Silenced: &notify.Mark{UserID: "U1", At: first, Until: last.Add(-time.Second)}}),
			[]string{ActionAcknowledge, ActionSilence1h, ActionSilence24h, ActionNotAnIssue}},
		{"everything done", withActions(&notify.Actions{Acknowledged: &notify.Mark{Severity: logwardenpb.Severity_SEVERITY_CRITICAL}, Silenced: &notify.Mark{Until: at.Add(time.Hour)}, NotAnIssue: &notify.Mark{}}), nil},
		{"overflow never", func() notify.Notification { n := overflow(); n.Ref, n.Actions = ref, &notify.Actions{}; return n }(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := Slack(tt.n)
			ids, blockID := buttons(m)
			if !reflect.DeepEqual(ids, tt.want) {
				t.Fatalf("buttons %v, want %v", ids, tt.want)
			}
			if len(ids) > 0 && blockID != "lw/"+ref {
				t.Fatalf("block_id %q", blockID)
			}
			for _, b := range m.Blocks {
				for _, e := range b.Elements {
					if bt, ok := e.(*Button); ok && bt.Value != ref {
						t.Fatalf("button %s carries %q, want only the ref", bt.ActionID, bt.Value)
					}
				}
			}
		})
	}
}

// A message with buttons survives a JSON round trip (tests and the local Slack read
// posts back into Message).
func TestBlockRoundTrip(t *testing.T) {
	m := Slack(withActions(&notify.Actions{Acknowledged: &notify.Mark{UserID: "U1", At: last}}))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatalf("round trip differs:\n%s", b)
	}
}

// Only a valid user id becomes a mention; anything else is inert code.
func TestWho(t *testing.T) {
	if got := Who(&notify.Mark{UserID: "U0123ABC"}); got != "<@U0123ABC>" {
		t.Fatal(got)
	}
	got := Who(&notify.Mark{UserID: "U1> <!channel", By: "x <!channel>"})
	if strings.Contains(got, "<!") || !strings.HasPrefix(got, "`") {
		t.Fatalf("Who = %q", got)
	}
}
