package ingest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/clock"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// gatedPublisher holds every Publish until released, announcing each arrival.
type gatedPublisher struct {
	entered chan struct{}
	release chan struct{}
	fakePublisher
}

func newGated() *gatedPublisher {
	return &gatedPublisher{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gatedPublisher) Publish(ctx context.Context, lines []source.Line) error {
	g.entered <- struct{}{}
	<-g.release
	return g.fakePublisher.Publish(ctx, lines)
}

// TestIngestLimitsRequestsInFlight: past ingest.max_in_flight_requests a request is
// answered 429 with Retry-After at once, and nothing of it is published.
func TestIngestLimitsRequestsInFlight(t *testing.T) {
	pub := newGated()
	cfg := testConfig()
	cfg.MaxInFlightRequests = 1
	h := NewHandler(cfg, pub, nil, nil, nil)
	first := make(chan int)
	go func() {
		rec, _ := post(t, h, "text/plain", "one\n")
		first <- rec.Code
	}()
	<-pub.entered
	rec, out := post(t, h, "text/plain", "two\n")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(out["error"].(string), "ingest.max_in_flight_requests") {
		t.Fatalf("second request: %d %v (Retry-After %q)", rec.Code, out, rec.Header().Get("Retry-After"))
	}
	close(pub.release)
	if code := <-first; code != 202 {
		t.Fatalf("first request: %d", code)
	}
	if len(pub.lines) != 1 || pub.lines[0].Text != "one" {
		t.Fatalf("published %+v", pub.lines)
	}
	if rec, _ := post(t, h, "text/plain", "three\n"); rec.Code != 202 {
		t.Fatalf("after the first finished: %d", rec.Code)
	}
}

// TestIngestLimitsBytesInFlight: bodies held at once are bounded by
// ingest.max_in_flight_bytes; a body that does not fit beside the ones in flight gets 429,
// a smaller one still fits, and the budget is given back.
func TestIngestLimitsBytesInFlight(t *testing.T) {
	pub := newGated()
	cfg := testConfig()
	cfg.MaxBodyBytes, cfg.MaxInFlightBytes = 1024, 1500
	h := NewHandler(cfg, pub, nil, nil, nil)
	big := strings.Repeat("x", 999) + "\n"
	first := make(chan int)
	go func() {
		rec, _ := post(t, h, "text/plain", big)
		first <- rec.Code
	}()
	<-pub.entered
	rec, out := post(t, h, "text/plain", big)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(out["error"].(string), "ingest.max_in_flight_bytes") {
		t.Fatalf("second big request: %d %v", rec.Code, out)
	}
	small := make(chan int)
	go func() {
		rec, _ := post(t, h, "text/plain", "small\n")
		small <- rec.Code
	}()
	<-pub.entered
	close(pub.release)
	if a, b := <-first, <-small; a != 202 || b != 202 {
		t.Fatalf("first %d, small %d", a, b)
	}
	if rec, _ := post(t, h, "text/plain", big); rec.Code != 202 {
		t.Fatalf("budget not given back: %d", rec.Code)
	}
}

// TestIngestPublishesInBoundedChunks: a request is published in chunks of at most
// chunkLines lines and about chunkBytes bytes, never as one batch of every event.
func TestIngestPublishesInBoundedChunks(t *testing.T) {
	rec := &chunkRecorder{}
	cfg := testConfig()
	cfg.MaxBodyBytes, cfg.MaxInFlightBytes = 4<<20, 4<<20
	h := NewHandler(cfg, rec, nil, nil, nil)
	if r, out := post(t, h, "text/plain", strings.Repeat("short line\n", 2*chunkLines+1)); r.Code != 202 {
		t.Fatalf("%d %v", r.Code, out)
	}
	if got := rec.sizes; len(got) != 3 || got[0] != chunkLines || got[2] != 1 {
		t.Fatalf("chunks of %v lines", got)
	}
	rec.sizes, rec.bytes = nil, nil
	long := strings.Repeat("y", 20<<10) + "\n"
	if r, out := post(t, h, "text/plain", strings.Repeat(long, 100)); r.Code != 202 {
		t.Fatalf("%d %v", r.Code, out)
	}
	for i, b := range rec.bytes {
		if b > chunkBytes+len(long) {
			t.Fatalf("chunk %d holds %d bytes of text", i, b)
		}
	}
	if len(rec.sizes) < 2 {
		t.Fatalf("2 MB of lines in %d chunk(s)", len(rec.sizes))
	}
}

type chunkRecorder struct {
	sizes, bytes []int
}

func (c *chunkRecorder) Publish(_ context.Context, lines []source.Line) error {
	n := 0
	for _, l := range lines {
		n += len(l.Text)
	}
	c.sizes, c.bytes = append(c.sizes, len(lines)), append(c.bytes, n)
	return nil
}

// TestIngestLimitsLinesPerClient: with ingest.client_lines_per_second, a client that sent
// more than its share waits (429, Retry-After) until it is paid back; another client is
// not held up; a request larger than a second's worth still passes once.
func TestIngestLimitsLinesPerClient(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC))
	cfg := testConfig()
	cfg.ClientLinesPerSecond = 10
	pub := &fakePublisher{}
	h := NewHandler(cfg, pub, tokensFrom(t, "alice "+aliceToken+"\nbob "+bobToken+"\n"), nil, nil)
	h.rates = newRates(cfg.ClientLinesPerSecond, clk)
	as := func(token string, lines int) (int, string) {
		rec, _ := do(t, h, request{body: []byte(strings.Repeat("x\n", lines)), headers: map[string]string{"Authorization": "Bearer " + token}})
		return rec.Code, rec.Header().Get("Retry-After")
	}
	if code, _ := as(aliceToken, 30); code != 202 {
		t.Fatalf("first request over a second's worth: %d", code)
	}
	if code, after := as(aliceToken, 1); code != 429 || after != "2" {
		t.Fatalf("in debt by 20 lines at 10/s: %d, Retry-After %q, want 429 after 2 s", code, after)
	}
	if code, _ := as(bobToken, 5); code != 202 {
		t.Fatalf("another client: %d", code)
	}
	clk.Advance(2 * time.Second)
	if code, _ := as(aliceToken, 1); code != 202 {
		t.Fatalf("after paying back: %d", code)
	}
	if len(pub.lines) != 36 {
		t.Fatalf("%d lines published, want 36", len(pub.lines))
	}
}
