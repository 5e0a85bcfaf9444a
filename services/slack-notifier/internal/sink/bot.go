package sink

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// Bot posts with a bot token through chat.postMessage (slack-go). The first message of a
// group is the parent; follow-ups go into its thread and the parent is updated
// (chat.update) with the running count and last-seen time.
type Bot struct {
	api     *slack.Client
	client  *http.Client
	channel string
	routes  map[string]string

	mu      sync.Mutex
	parents map[string]parent // group key → parent message
}

type parent struct{ channel, ts string }

// NewBot builds a bot-token sink. api is the Web API base URL (https://slack.com/api/).
func NewBot(token, api, channel string, routes map[string]string, c *http.Client) *Bot {
	r := map[string]string{}
	for k, v := range routes {
		r[strings.ToLower(k)] = v
	}
	c = withCapture(c)
	return &Bot{
		api:    slack.New(token, slack.OptionAPIURL(strings.TrimSuffix(api, "/")+"/"), slack.OptionHTTPClient(c)),
		client: c, channel: channel, routes: r, parents: map[string]parent{},
	}
}

// Name names the destination.
func (b *Bot) Name() string { return "slack-bot" }

// post sends m with chat.postMessage, or chat.update when ts is set, and returns the
// channel and timestamp Slack answered.
func (b *Bot) post(ctx context.Context, m render.Message, ts string) (string, string, bool, error) {
	method := "chat.postMessage"
	if ts != "" {
		method = "chat.update"
	}
	dest := "slack " + method
	opts, err := msgOptions(m)
	if err != nil {
		return "", "", false, err
	}
	var body string
	ctx = context.WithValue(ctx, bodyKey{}, &body)
	var ch, gotTS string
	if ts == "" {
		ch, gotTS, err = b.api.PostMessageContext(ctx, m.Channel, opts...)
	} else {
		ch, gotTS, _, err = b.api.UpdateMessageContext(ctx, m.Channel, ts, opts...)
	}
	retry, err := classifySlack(dest, err, body)
	return ch, gotTS, retry, err
}

// Channel is where n goes: the route of its severity, else the default channel.
func (b *Bot) Channel(n notify.Notification) string {
	name, _, _ := render.Severity(n.Alert.GetSeverity())
	if c := b.routes[name]; c != "" {
		return c
	}
	return b.channel
}

// Notify posts n (a parent, or a reply in its group's thread plus a parent update).
func (b *Bot) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	b.mu.Lock()
	p, threaded := b.parents[n.GroupKey]
	b.mu.Unlock()
	m := render.Slack(n)
	if !threaded || n.Seq == 0 {
		m.Channel = b.Channel(n)
		ch, ts, retry, err := b.post(ctx, m, "")
		if err != nil {
			return retry, err
		}
		b.mu.Lock()
		b.parents[n.GroupKey] = parent{channel: ch, ts: ts}
		b.mu.Unlock()
		return false, nil
	}
	m.Channel, m.ThreadTS = p.channel, p.ts
	if _, _, retry, err := b.post(ctx, m, ""); err != nil {
		return retry, err
	}
	// The reply is delivered; a failed parent update must not cause a second reply.
	up := render.Slack(n)
	up.Channel = p.channel
	_, _, _, _ = b.post(ctx, up, p.ts)
	return false, nil
}
