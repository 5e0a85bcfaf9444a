//go:build integration

package ingest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

func batch(name string, n int) (body string, lines []string) {
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf(`{"message":"[24/Nov/2026 06:00:%02d] 10.0.0.1 %s%d accessed file 'f%d'","host":"web1","source":"shipper"}`, i%60, name, i, i))
	}
	return strings.Join(lines, "\n"), lines
}

func postNDJSON(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url+Path, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestIngestWhileTheBrokerIsDown runs the ingest API on a private broker: 202 while it is
// up, 503 while it is stopped, 202 again once it is back, and every batch that got a 202
// (including the one retried after its 503) is on the topic.
func TestIngestWhileTheBrokerIsDown(t *testing.T) {
	b := kafkatest.StartBroker(t)
	cfg := b.Config()
	topic := kafkatest.NewTopic(t, cfg, 3)
	wc := kafkax.DefaultWriterConfig()
	wc.WriteTimeout, wc.MaxAttempts = 2*time.Second, 2
	w, err := kafkax.NewWriter(cfg, wc, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ic := DefaultConfig()
	ic.PublishTimeout = 4 * time.Second
	h := NewHandler(ic, publish.New(w, publish.Options{Topic: topic}), nil, nil, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	bodyA, linesA := batch("a", 20)
	if code := postNDJSON(t, srv.URL, bodyA); code != http.StatusAccepted {
		t.Fatalf("broker up: %d, want 202", code)
	}

	b.Stop()
	bodyB, linesB := batch("b", 20)
	if code := postNDJSON(t, srv.URL, bodyB); code != http.StatusServiceUnavailable {
		t.Fatalf("broker down: %d, want 503", code)
	}

	b.Start()
	// The client retries its refused batch until it is accepted.
	deadline := time.Now().Add(60 * time.Second)
	for code := 0; code != http.StatusAccepted; {
		if time.Now().After(deadline) {
			t.Fatalf("broker back: still %d after 60 s", code)
		}
		code = postNDJSON(t, srv.URL, bodyB)
		if code != http.StatusAccepted && code != http.StatusServiceUnavailable {
			t.Fatalf("broker back: %d", code)
		}
	}
	bodyC, linesC := batch("c", 20)
	if code := postNDJSON(t, srv.URL, bodyC); code != http.StatusAccepted {
		t.Fatalf("after recovery: %d, want 202", code)
	}

	missing := map[string]bool{}
	for _, l := range append(append(linesA, linesB...), linesC...) {
		missing[l[len(`{"message":"`):strings.Index(l, `","host"`)]] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = kafkax.ReadTopicUntil(ctx, cfg, topic, func(m kafkax.Message) bool {
		ev := &logwardenpb.LogEvent{}
		if proto.Unmarshal(m.Value, ev) == nil && ev.GetHost() == "web1" && ev.GetSource() == "shipper" {
			delete(missing, ev.GetRaw())
		}
		return len(missing) == 0
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("%d accepted lines never reached the topic", len(missing))
	}
}
