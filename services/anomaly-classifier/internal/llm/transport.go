package llm

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// go-openai turns an error response into *openai.APIError or *openai.RequestError
// and drops its headers, Retry-After included. metaTransport records the headers
// we need into a holder carried by the request's context, one per attempt.
type metaTransport struct{ base http.RoundTripper }

type metaKey struct{}

// httpMeta is what one attempt's response said besides its body.
type httpMeta struct {
	mu           sync.Mutex
	header       string
	retryAfterMS string
}

func withMeta(ctx context.Context, m *httpMeta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

func (t metaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		if m, ok := r.Context().Value(metaKey{}).(*httpMeta); ok {
			m.mu.Lock()
			m.header = resp.Header.Get("Retry-After")
			m.retryAfterMS = resp.Header.Get("Retry-After-Ms") // OpenAI's finer-grained form
			m.mu.Unlock()
		}
	}
	return resp, err
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the base.
func (t metaTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// retryAfter is the server's requested delay: retry-after-ms, else Retry-After
// as seconds or an HTTP date (relative to now).
func (m *httpMeta) retryAfter(now time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return parseRetryAfter(m.header, m.retryAfterMS, now)
}

func parseRetryAfter(header, headerMS string, now time.Time) (time.Duration, bool) {
	if ms, err := strconv.ParseFloat(strings.TrimSpace(headerMS), 64); err == nil && ms >= 0 && ms < 1e9 {
		return time.Duration(ms * float64(time.Millisecond)), true
	}
	h := strings.TrimSpace(header)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 || secs > 1e6 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
