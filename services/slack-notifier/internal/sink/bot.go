package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// Bot posts with a bot token through chat.postMessage. The first message of a group is
// the parent; follow-ups go into its thread and the parent is updated (chat.update) with
// the running count and last-seen time.
type Bot struct {
	token, api, channel string
	routes              map[string]string
	client              *http.Client

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
	return &Bot{token: token, api: strings.TrimSuffix(api, "/") + "/", channel: channel, routes: r, client: c, parents: map[string]parent{}}
}

// Name names the destination.
func (b *Bot) Name() string { return "slack-bot" }

type apiAnswer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	TS      string `json:"ts"`
	Channel string `json:"channel"`
}

func (b *Bot) call(ctx context.Context, method string, m render.Message) (apiAnswer, bool, error) {
	dest := "slack " + method
	body, err := json.Marshal(m)
	if err != nil {
		return apiAnswer{}, false, fmt.Errorf("%s: encode: %w", dest, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.api+method, bytes.NewReader(body))
	if err != nil {
		return apiAnswer{}, false, fmt.Errorf("%s: %w", dest, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return apiAnswer{}, true, fmt.Errorf("%s: request failed: %v", dest, strings.ReplaceAll(err.Error(), b.token, "xoxb-…"))
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		retry, err := Classify(dest, resp.StatusCode, resp.Header, string(rb))
		return apiAnswer{}, retry, err
	}
	var a apiAnswer
	if err := json.Unmarshal(rb, &a); err != nil {
		return a, true, fmt.Errorf("%s: undecodable answer: %w", dest, err)
	}
	if !a.OK {
		if a.Error == "ratelimited" {
			return a, true, &RateLimitedError{After: retryAfter(resp.Header), Dest: dest}
		}
		if permanent[a.Error] {
			return a, false, fmt.Errorf("%s: %s", dest, a.Error)
		}
		return a, true, fmt.Errorf("%s: %s", dest, a.Error)
	}
	return a, false, nil
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
		a, retry, err := b.call(ctx, "chat.postMessage", m)
		if err != nil {
			return retry, err
		}
		b.mu.Lock()
		b.parents[n.GroupKey] = parent{channel: a.Channel, ts: a.TS}
		b.mu.Unlock()
		return false, nil
	}
	m.Channel, m.ThreadTS = p.channel, p.ts
	if _, retry, err := b.call(ctx, "chat.postMessage", m); err != nil {
		return retry, err
	}
	// The reply is delivered; a failed parent update must not cause a second reply.
	up := render.Slack(n)
	up.Channel, up.TS = p.channel, p.ts
	_, _, _ = b.call(ctx, "chat.update", up)
	return false, nil
}
