//go:build integration

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The command end to end: env config, topics created, a text line in → a
// verdict out, /readyz and /metrics, the start summary, a clean stop.
func TestRunService(t *testing.T) {
	cfg := kafkatest.Config(t)
	base := kafkatest.UniqueName("ac-run")
	in, verdicts, alerts := base+".raw", base+".verdicts", base+".alerts"
	t.Cleanup(func() {
		_ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), in, verdicts, alerts, kafkax.DLQTopic(in), kafkax.DLQTopic(alerts))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "INPUT_TOPIC": in, "VERDICTS_TOPIC": verdicts, "ALERTS_TOPIC": alerts,
		"GROUP_ID": base, "HTTP_ADDR": addr, "TOPIC_PARTITIONS": "2", "CONSUMER_SESSION_TIMEOUT": "6s",
		"CONSUMER_HEARTBEAT_INTERVAL": "500ms",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, stderr)
	}()

	// Topics are created at start; produce once the verdicts topic exists.
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := kafkax.Message{Topic: in, Key: []byte("alice"), Value: []byte("[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file '/etc/shadow'")}
	for {
		if err = w.Write(rctx, line); err == nil || rctx.Err() != nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	kafkatest.ReadN(t, cfg, verdicts, 1, 30*time.Second)
	kafkatest.ReadN(t, cfg, alerts, 1, 30*time.Second)

	if code, _ := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d", code)
	}
	_, metrics := get(t, "http://"+addr+"/metrics")
	for _, want := range []string{"logwarden_events_classified_total 1", `logwarden_anomalies_total{detector="rules",severity="SEVERITY_HIGH"} 1`, "logwarden_classify_seconds_count"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if log := stderr.String(); !strings.Contains(log, "llm stage off") || !strings.Contains(log, in+" → verdicts "+verdicts) {
		t.Errorf("start summary missing from the log:\n%s", log)
	}
}
