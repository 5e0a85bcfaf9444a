package sink

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/logwardenpb"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// maxParents bounds the thread parents remembered (one per recent group).
const maxParents = 10000

// targetTimeout bounds recording a message's action target (a Kafka write).
const targetTimeout = 5 * time.Second

// SlackBot posts with a bot token through chat.postMessage (slack-go). The first message
// of a group is the parent; follow-ups go into its thread and the parent is updated
// (chat.update) with the running count and last-seen time. Each channel is its own
// destination (Destination): Slack rate-limits per channel.
type SlackBot struct {
	api     *slack.Client
	channel string
	routes  map[string]string
	secrets secrets
	targets Targets // nil: no buttons
	log     *zap.Logger

	mu      sync.Mutex
	parents map[string]*list.Element // group key → parent message, in order
	order   *list.List               // of parent, most recent last
}

type parent struct{ group, channel, ts, ref string }

// Targets keeps what the buttons of each posted message act on, and tells what people
// did with a message (the actions package's table, shared by every replica).
type Targets interface {
	// Register records a posted message: its ref, group, alert, channel and ts.
	Register(ctx context.Context, ref, group string, a *logwardenpb.Alert, channel, ts string) error
	// Marks is what people did with the message ref so far (never nil).
	Marks(ref string) *notify.Actions
	// Escalate records a group's alert more severe than its message's (it breaks an
	// acknowledgement).
	Escalate(ctx context.Context, ref string, a *logwardenpb.Alert) error
}

// EnableActions gives every group's message buttons (Acknowledge, Silence 1h/24h, Not
// an issue) and records each message in t so that any replica can act on a click. A
// failed record is logged: that message's buttons then answer "unknown alert". Call it
// before the first Notify.
func (b *SlackBot) EnableActions(t Targets, log *zap.Logger) {
	b.targets, b.log = t, log
	if b.log == nil {
		b.log = zap.NewNop()
	}
}

// render is the message of n, with buttons and marks when actions are on.
func (b *SlackBot) render(n notify.Notification) render.Message {
	if b.targets != nil && n.Ref != "" && n.Overflow == nil {
		n.Actions = b.targets.Marks(n.Ref)
	}
	return render.Slack(n)
}

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
	if !threaded || n.Seq == 0 || n.Overflow != nil {
		m := b.render(n)
		m.Channel = b.Destination(n)
		ch, ts, retry, err := b.post(ctx, m, "")
		if err != nil {
			return retry, err
		}
		if n.Overflow == nil {
			b.remember(parent{group: n.GroupKey, channel: ch, ts: ts, ref: n.Ref})
			if b.targets != nil && n.Ref != "" {
				// Bounded: the message is posted; its record must not hold up delivery.
				rctx, cancel := context.WithTimeout(ctx, targetTimeout)
				err := b.targets.Register(rctx, n.Ref, n.GroupKey, n.Alert, ch, ts)
				cancel()
				if err != nil {
					b.log.Error("recording a message's buttons failed; they will answer \"unknown alert\"",
						zap.String("group", n.GroupKey), zap.String("ref", n.Ref), zap.Error(err))
				}
			}
		}
		return false, nil
	}
	m := render.Slack(n) // a thread reply: the buttons stay on the parent
	m.Channel, m.ThreadTS = p.channel, p.ts
	if _, _, retry, err := b.post(ctx, m, ""); err != nil {
		return retry, err
	}
	// The reply is delivered; a failed parent update must not cause a second reply.
	n.Ref = p.ref
	if b.targets != nil && p.ref != "" {
		rctx, cancel := context.WithTimeout(ctx, targetTimeout)
		err := b.targets.Escalate(rctx, p.ref, n.Alert)
		cancel()
		if err != nil {
			b.log.Warn("recording a more severe alert on a message failed", zap.String("ref", p.ref), zap.Error(err))
		}
	}
	up := b.render(n)
	up.Channel = p.channel
	_, _, _, _ = b.post(ctx, up, p.ts)
	return false, nil
}

// Update re-renders the group's message in place (chat.update): its count, and what
// people did with it. Nothing to do when the message is not known here (posted by
// another replica, or before a restart) or is not the message n names.
func (b *SlackBot) Update(ctx context.Context, n notify.Notification) (bool, error) {
	p, ok := b.parent(n.GroupKey)
	if !ok || (n.Ref != "" && p.ref != n.Ref) {
		return false, nil
	}
	n.Ref = p.ref
	m := b.render(n)
	m.Channel = p.channel
	_, _, retry, err := b.post(ctx, m, p.ts)
	return retry, err
}
