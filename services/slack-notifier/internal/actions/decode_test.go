package actions

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/slacktest"
)

const testRef = "0123456789abcdef01234567"

func click(mod func(c *slacktest.Click)) slacktest.Click {
	c := slacktest.Click{UserID: "U0ALICE", UserName: "alice", ChannelID: "C0ALERTS", MessageTS: "1700000000.000001",
		ActionID: render.ActionSilence1h, BlockID: "lw/" + testRef, Value: testRef, ActionTS: "1700000100.123456"}
	if mod != nil {
		mod(&c)
	}
	return c
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeInteraction(t *testing.T) {
	got, err := DecodeInteraction(encode(t, click(nil).Payload()))
	if err != nil {
		t.Fatal(err)
	}
	want := Interaction{Action: render.ActionSilence1h, Ref: testRef, UserID: "U0ALICE", UserName: "alice", ChannelID: "C0ALERTS",
		MessageTS: "1700000000.000001", ActionTS: "1700000100.123456", TeamID: "T0LOCAL"}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	payload := func(mod func(p map[string]any)) []byte {
		p := click(nil).Payload()
		mod(p)
		return encode(t, p)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"not JSON", []byte("\xff{"), ErrPayload},
		{"empty", nil, ErrPayload},
		{"a view submission", payload(func(p map[string]any) { p["type"] = "view_submission" }), ErrPayload},
		{"no action", payload(func(p map[string]any) { p["actions"] = []any{} }), ErrPayload},
		{"two actions", payload(func(p map[string]any) { a := p["actions"].([]map[string]any); p["actions"] = append(a, a[0]) }), ErrPayload},
		{"unknown action id", encode(t, click(func(c *slacktest.Click) { c.ActionID = "delete_everything" }).Payload()), ErrUnknownAction},
		{"log content as value", encode(t, click(func(c *slacktest.Click) { c.Value, c.BlockID = "alice <!channel>", "lw/alice <!channel>" }).Payload()), ErrForged},
		{"block id of another ref", encode(t, click(func(c *slacktest.Click) { c.BlockID = "lw/ffffffffffffffffffffffff" }).Payload()), ErrForged},
		{"uppercase ref", encode(t, click(func(c *slacktest.Click) {
			c.Value, c.BlockID = strings.ToUpper(testRef), "lw/"+strings.ToUpper(testRef)
		}).Payload()), ErrForged},
		{"bad user", encode(t, click(func(c *slacktest.Click) { c.UserID = "<@U1>" }).Payload()), ErrForged},
		{"bad channel", encode(t, click(func(c *slacktest.Click) { c.ChannelID = "#alerts" }).Payload()), ErrForged},
		{"channel and container disagree", payload(func(p map[string]any) { p["channel"] = map[string]string{"id": "C0OTHER"} }), ErrForged},
		{"not a message", payload(func(p map[string]any) { p["container"].(map[string]any)["type"] = "view" }), ErrForged},
		{"bad message ts", encode(t, click(func(c *slacktest.Click) { c.MessageTS = "yesterday" }).Payload()), ErrForged},
		{"not a button", payload(func(p map[string]any) { p["actions"].([]map[string]any)[0]["type"] = "static_select" }), ErrForged},
		{"huge", append(append([]byte(`{"type":"block_actions","x":"`), strings.Repeat("a", maxPayload)...), `"}`...), ErrPayload},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeInteraction(tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if len(err.Error()) > 400 || strings.ContainsAny(err.Error(), "\n\u202e") {
				t.Fatalf("error quotes untrusted text unbounded or unsanitized: %q", err)
			}
		})
	}
}

// FuzzDecodeInteraction: no payload makes the decoder panic, and whatever it accepts
// has a known action id, a ref of 24 hex digits and ids in Slack's formats (nothing
// from a log line can ride in a click).
func FuzzDecodeInteraction(f *testing.F) {
	f.Add(encode(f, click(nil).Payload()))
	f.Add(encode(f, click(func(c *slacktest.Click) { c.ActionID = render.ActionNotAnIssue }).Payload()))
	f.Add([]byte(`{"type":"block_actions","actions":[{"type":"button","action_id":"lw_ack","value":"x"}]}`))
	f.Add([]byte(`{"type":"block_actions","user":{"id":"U1"},"actions":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"block_actions","actions":[{}],"user":{"id":"\u202eU1"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInteraction(b)
		if err != nil {
			if !errors.Is(err, ErrPayload) && !errors.Is(err, ErrUnknownAction) && !errors.Is(err, ErrForged) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !knownActions[in.Action] || !refRE.MatchString(in.Ref) || !userRE.MatchString(in.UserID) ||
			!channelRE.MatchString(in.ChannelID) || !tsRE.MatchString(in.MessageTS) {
			t.Fatalf("accepted %+v", in)
		}
		if strings.ContainsAny(in.UserName, "\n\r\u202e") {
			t.Fatalf("user name not sanitized: %q", in.UserName)
		}
	})
}
