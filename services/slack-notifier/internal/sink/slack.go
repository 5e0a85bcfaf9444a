package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// WebhookPayload is what the webhook sink posts for n: render.Slack's Block Kit message
// in slack-go's types (the same JSON; `slack-notifier render` prints it).
func WebhookPayload(n notify.Notification) (*slack.WebhookMessage, error) {
	var msg slack.WebhookMessage
	if err := convert(render.Slack(n), &msg); err != nil {
		return nil, err
	}
	return &msg, nil
}

// convert re-decodes our Block Kit message into slack-go's types.
func convert(m render.Message, dst any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("message to slack-go types: %w", err)
	}
	return nil
}

// msgOptions are the chat.postMessage / chat.update options of m.
func msgOptions(m render.Message) ([]slack.MsgOption, error) {
	var sm struct {
		Blocks      slack.Blocks       `json:"blocks"`
		Attachments []slack.Attachment `json:"attachments"`
	}
	if err := convert(m, &sm); err != nil {
		return nil, err
	}
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(sm.Blocks.BlockSet...)}
	if len(sm.Attachments) > 0 {
		opts = append(opts, slack.MsgOptionAttachments(sm.Attachments...))
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	return opts, nil
}

// bodyKey carries, per request, where captureBody stores an error answer's body.
type bodyKey struct{}

// captureBody keeps the start of a non-2xx answer's body (slack-go discards it), so an
// error can name Slack's code, e.g. no_service or invalid_payload.
type captureBody struct{ base http.RoundTripper }

func (c captureBody) RoundTrip(req *http.Request) (*http.Response, error) {
	base := c.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	if dst, ok := req.Context().Value(bodyKey{}).(*string); ok {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		*dst = string(b)
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// withCapture returns a copy of c whose transport records error bodies.
func withCapture(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	cc.Transport = captureBody{base: c.Transport}
	return &cc
}

// classifySlack maps slack-go's errors to (retry, err), as classify does for raw answers:
// 429 waits Retry-After, 5xx and transport errors retry, Slack's permanent codes and
// other 4xx do not. Errors never carry the sink's secrets.
func (s secrets) classifySlack(err error, body string) (bool, error) {
	if err == nil {
		return false, nil
	}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	switch {
	case errors.As(err, &rl):
		return true, &RateLimitedError{After: rl.RetryAfter}
	case errors.As(err, &sc):
		return s.classify(sc.Code, http.Header{}, body)
	case errors.As(err, &se):
		code := s.clean(se.Err)
		switch {
		case code == "ratelimited" || code == "rate_limited":
			return true, &RateLimitedError{After: time.Second}
		case permanent[code]:
			return false, errors.New(code)
		}
		return true, errors.New(code)
	}
	return s.transportError(err)
}

// SlackWebhook posts Block Kit messages to a Slack incoming webhook (slack-go).
type SlackWebhook struct {
	url     string
	client  *http.Client
	secrets secrets
}

// NewSlackWebhook is the incoming webhook at u (a secret: it never appears in errors).
func NewSlackWebhook(u string, c *http.Client) *SlackWebhook {
	return &SlackWebhook{url: u, client: withCapture(c), secrets: newSecrets(u)}
}

// Notify posts n.
func (w *SlackWebhook) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	msg, err := WebhookPayload(n)
	if err != nil {
		return false, err
	}
	var body string
	ctx = context.WithValue(ctx, bodyKey{}, &body)
	return w.secrets.classifySlack(slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, msg), body)
}

// Name names the destination for logs, metrics and dead letters.
func (w *SlackWebhook) Name() string { return "slack-webhook" }
