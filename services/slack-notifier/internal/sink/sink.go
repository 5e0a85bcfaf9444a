package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// RateLimitedError is a 429: wait After before the next attempt.
type RateLimitedError struct {
	After time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s", e.After)
}

// RetryAfter is the delay the server asked for (the retry loop caps it).
func (e *RateLimitedError) RetryAfter() time.Duration { return e.After }

// permanent are Slack's error codes that no retry fixes.
var permanent = map[string]bool{
	"invalid_token": true, "invalid_auth": true, "channel_not_found": true, "no_service": true,
	"invalid_payload": true, "is_archived": true, "not_in_channel": true, "token_revoked": true,
	"missing_scope": true, "action_prohibited": true, "no_text": true, "account_inactive": true,
	"no_active_hooks": true, "channel_is_archived": true, "posting_to_general_channel_denied": true,
	"msg_too_long": true,
}

// classify maps an HTTP answer to (retry, err): nil for 2xx; a RateLimitedError for 429;
// retry for 5xx, 408 and unknown codes; permanent for other 4xx and Slack's permanent
// codes. The body quoted in the error is cleaned of the sink's secrets.
func (s secrets) classify(status int, header http.Header, body string) (bool, error) {
	body = s.clean(strings.TrimSpace(body))
	switch {
	case status >= 200 && status < 300:
		return false, nil
	case status == http.StatusTooManyRequests:
		return true, &RateLimitedError{After: retryAfter(header)}
	case status >= 500 || status == http.StatusRequestTimeout:
		return true, fmt.Errorf("HTTP %d %s", status, body)
	case permanent[body] || status >= 400:
		return false, fmt.Errorf("HTTP %d %s", status, body)
	}
	return true, fmt.Errorf("unexpected HTTP %d %s", status, body)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}

// transportError is a failed request: retried, and never carrying the URL.
func (s secrets) transportError(err error) (bool, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return true, fmt.Errorf("request failed: %s", s.clean(err.Error()))
}

// httpSink posts JSON documents to one URL (the generic and Teams webhooks).
type httpSink struct {
	url     string
	client  *http.Client
	secrets secrets
}

func newHTTPSink(u string, c *http.Client) httpSink {
	if c == nil {
		c = http.DefaultClient
	}
	return httpSink{url: u, client: c, secrets: newSecrets(u)}
}

// post sends body as JSON and classifies the answer.
func (h httpSink) post(ctx context.Context, body any) (bool, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("encode payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("build request: %s", h.secrets.clean(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := h.client.Do(req)
	if err != nil {
		return h.secrets.transportError(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return h.secrets.classify(resp.StatusCode, resp.Header, string(rb))
}

// Webhook posts a generic JSON document (render.JSON) to any HTTP endpoint.
type Webhook struct{ h httpSink }

// NewWebhook is the generic JSON webhook at u (a secret: it never appears in errors).
func NewWebhook(u string, c *http.Client) *Webhook { return &Webhook{newHTTPSink(u, c)} }

// Notify posts n.
func (w *Webhook) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return w.h.post(ctx, render.JSON(n))
}

// Name names the destination for logs, metrics and dead letters.
func (w *Webhook) Name() string { return "webhook" }

// Teams posts an Adaptive Card to a Microsoft Teams webhook (workflow or connector).
type Teams struct{ h httpSink }

// NewTeams is the Teams webhook at u (a secret: it never appears in errors).
func NewTeams(u string, c *http.Client) *Teams { return &Teams{newHTTPSink(u, c)} }

// Notify posts n.
func (t *Teams) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return t.h.post(ctx, render.Teams(n))
}

// Name names the destination.
func (t *Teams) Name() string { return "teams" }

// Stdout prints a compact readable block per notification.
type Stdout struct {
	mu sync.Mutex
	w  io.Writer
}

// NewStdout prints to w.
func NewStdout(w io.Writer) *Stdout { return &Stdout{w: w} }

// Notify prints n.
func (s *Stdout) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.w, render.Terminal(n)+"\n"); err != nil {
		return true, fmt.Errorf("write: %w", err)
	}
	return false, nil
}

// Name names the destination.
func (s *Stdout) Name() string { return "stdout" }
