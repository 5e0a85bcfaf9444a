package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	Dest  string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s: rate limited, retry after %s", e.Dest, e.After)
}

// RetryAfter is the delay the server asked for.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.After }

// permanent are Slack's error codes that no retry fixes.
var permanent = map[string]bool{
	"invalid_token": true, "invalid_auth": true, "channel_not_found": true, "no_service": true,
	"invalid_payload": true, "is_archived": true, "not_in_channel": true, "token_revoked": true,
	"missing_scope": true, "action_prohibited": true, "no_text": true, "account_inactive": true,
	"no_active_hooks": true, "channel_is_archived": true, "posting_to_general_channel_denied": true,
}

// Classify maps an HTTP answer to (retry, err): nil for 2xx; a RateLimitedError for 429;
// retry for 5xx and unknown codes; permanent for 4xx and Slack's permanent codes.
func Classify(dest string, status int, header http.Header, body string) (bool, error) {
	body = strings.TrimSpace(body)
	if len(body) > 200 {
		body = body[:200]
	}
	switch {
	case status >= 200 && status < 300:
		return false, nil
	case status == http.StatusTooManyRequests:
		return true, &RateLimitedError{After: retryAfter(header), Dest: dest}
	case status >= 500 || status == http.StatusRequestTimeout:
		return true, fmt.Errorf("%s: HTTP %d %s", dest, status, body)
	case permanent[body] || status >= 400:
		return false, fmt.Errorf("%s: HTTP %d %s", dest, status, body)
	}
	return true, fmt.Errorf("%s: unexpected HTTP %d %s", dest, status, body)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}

// post sends body as JSON and classifies the answer. Transport errors and timeouts retry.
func post(ctx context.Context, c *http.Client, dest, url string, body any) (bool, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("%s: encode payload: %w", dest, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("%s: %w", dest, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.Do(req)
	if err != nil {
		// The URL may hold a secret: report the destination, not the error's URL.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return true, fmt.Errorf("%s: %w", dest, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return Classify(dest, resp.StatusCode, resp.Header, string(rb))
}

// Webhook posts Block Kit messages to a Slack incoming webhook (slack-go).
type Webhook struct {
	URL    string
	Client *http.Client
}

// Notify posts n.
func (w *Webhook) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return postWebhook(ctx, w.Client, "slack webhook", w.URL, n)
}

// Name names the destination for logs and metrics.
func (w *Webhook) Name() string { return "slack-webhook" }

// JSON posts a generic JSON document (render.JSON) to any HTTP endpoint.
type JSON struct {
	URL    string
	Client *http.Client
}

// Notify posts n.
func (j *JSON) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return post(ctx, j.Client, "json webhook", j.URL, render.JSON(n))
}

// Name names the destination.
func (j *JSON) Name() string { return "webhook" }

// Stdout prints a compact readable block per notification.
type Stdout struct {
	mu sync.Mutex
	W  io.Writer
}

// Notify prints n.
func (s *Stdout) Notify(_ context.Context, n notify.Notification) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.W, render.Terminal(n)+"\n"); err != nil {
		return true, fmt.Errorf("stdout: %w", err)
	}
	return false, nil
}

// Name names the destination.
func (s *Stdout) Name() string { return "stdout" }

// Teams posts an Adaptive Card to a Microsoft Teams webhook (workflow or connector).
type Teams struct {
	URL    string
	Client *http.Client
}

// Notify posts n.
func (t *Teams) Notify(ctx context.Context, n notify.Notification) (bool, error) {
	return post(ctx, t.Client, "teams webhook", t.URL, render.Teams(n))
}

// Name names the destination.
func (t *Teams) Name() string { return "teams" }
