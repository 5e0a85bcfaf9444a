package sink

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// maxParents bounds the thread parents remembered (one per recent group).
const maxParents = 10000

// SlackBot posts with a bot token through chat.postMessage (slack-go). The first message
// of a group is the parent; follow-ups go into its thread and the parent is updated
// (chat.update) with the running count and last-seen time. Each channel is its own
// destination (Destination): Slack rate-limits per channel.
type SlackBot struct {
	api     *slack.Client
	channel string
	routes  map[string]string
	secrets secrets

	mu      sync.Mutex
	parents map[string]*list.Element // group key → parent message, in order
	order   *list.List               // of parent, most recent last
}

type parent struct{ group, channel, ts string }

// NewSlackBot builds a bot-token sink. api is the Web API base URL
// (https://slack.com/api/); routes maps a severity name to its channel.
func NewSlackBot(token, api, channel string, routes map[string]string, c *http.Client) *SlackBot {
	r := map[string]string{}
	for k, v := range routes {
		r[strings.ToLower(k)] = v
	}
	return &SlackBot{
		api:     slack.New(token, slack.OptionAPIURL(strings.TrimSuffix(api, "/")+"/"), slack.OptionHTTPClient(withCapture(c))),
		channel: channel, routes: r, secrets: newSecrets(token),
		parents: map[string]*list.Element{}, order: list.New(),
	}
}

// Name names the destination.
func (b *SlackBot) Name() string { return "slack-bot" }

// Destination is the channel n goes to: the route of its severity, else the default
// channel (an overflow message goes where its most severe alert would).
func (b *SlackBot) Destination(n notify.Notification) string {
	name, _, _ := render.Severity(n.Alert.GetSeverity())
	if c := b.routes[name]; c != "" {
		return c
	}
	return b.channel
}

// post sends m with chat.postMessage, or chat.update when ts is set, and returns the
// channel and timestamp Slack answered.
func (b *SlackBot) post(ctx context.Context, m render.Message, ts string) (string, string, bool, error) {
	method := "chat.postMessage"
	if ts != "" {
		method = "chat.update"
	}
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
	retry, err := b.secrets.classifySlack(err, body)
	if err != nil {
		err = fmt.Errorf("%s: %w", method, err)
	}
	return ch, gotTS, retry, err
}

func (b *SlackBot) parent(group string) (parent, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.parents[group]
	if !ok {
		return parent{}, false
	}
	return e.Value.(parent), true
}

func (b *SlackBot) remember(p parent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.parents[p.group]; ok {
		b.order.Remove(e)
	}
	b.parents[p.group] = b.order.PushBack(p)
	for b.order.Len() > maxParents {
		e := b.order.Front()
		b.order.Remove(e)
		delete(b.parents, e.Value.(parent).group)
	}
}

// Notify posts n (a parent, or a reply in its group's thread plus a parent update). An
// overflow message is always a message of its own.
func (b *SlackBot) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	p, threaded := b.parent(n.GroupKey)
	m := render.Slack(n)
	if !threaded || n.Seq == 0 || n.Overflow != nil {
		m.Channel = b.Destination(n)
		ch, ts, retry, err := b.post(ctx, m, "")
		if err != nil {
			return retry, err
		}
		if n.Overflow == nil {
			b.remember(parent{group: n.GroupKey, channel: ch, ts: ts})
		}
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
