//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

// smallTopic is a topic whose max.message.bytes is far below the writer's default batch
// size, as a 1 MiB broker default is below 500 lines of 2.3 KB.
func smallTopic(t *testing.T, cfg kafkax.Config) string {
	t.Helper()
	return kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 3, MaxMessageBytes: 64 << 10})
}

func longLines(n, size int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("Nov 24 06:00:%02d web%d app[%d]: request %d ", i%60, i%3, i, i)
		b.WriteString(line + strings.Repeat("x", size-len(line)) + "\n")
	}
	return b.String()
}

// TestRunStdinLongLinesOnASmallTopic: `--sources stdin` with 2.3 KB lines on a topic that
// accepts 64 KiB per record batch publishes everything and exits (it retried the same
// too-large batch forever before).
func TestRunStdinLongLinesOnASmallTopic(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := smallTopic(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	err := run(ctx, []string{"--sources", "stdin", "--topic", topic, "--http-addr", "127.0.0.1:0"},
		env(map[string]string{"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "LOG_LEVEL": "warn"}),
		strings.NewReader(longLines(1200, 2300)), io.Discard, &stderr)
	if err != nil || ctx.Err() != nil {
		t.Fatalf("run: %v (ctx %v)\n%s", err, ctx.Err(), stderr.String())
	}
	if got := len(kafkatest.ReadN(t, cfg, topic, 1200, 30*time.Second)); got != 1200 {
		t.Fatalf("%d events", got)
	}
}

// TestRunIngestLargePostOnASmallTopic: a 1.1 MB POST of 2.3 KB lines to a topic that
// accepts 64 KiB per record batch is accepted (202), never a 503 "retry later" that no
// retry can fix; so is one line larger than the topic accepts (cut to fit, flagged
// parse.truncated); a body over ingest.max_body_bytes is 413.
func TestRunIngestLargePostOnASmallTopic(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := smallTopic(t, cfg)
	addr, ops := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "TOPIC": topic,
			"SOURCES": "http", "INGEST_ADDR": addr, "HTTP_ADDR": ops, "INGEST_MAX_BODY_BYTES": "2000000", "MAX_LINE_BYTES": "262144", "LOG_LEVEL": "warn"}),
			strings.NewReader(""), io.Discard, &stderr)
	}()
	body := longLines(480, 2300) // 1.1 MB
	post := func(body string) int {
		resp, err := http.Post("http://"+addr+"/v1/logs", "text/plain", strings.NewReader(body))
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	code := -1
	for i := 0; code == -1 && i < 200; i++ {
		if code = post(body); code == -1 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code != http.StatusAccepted {
		t.Fatalf("1.1 MB POST: %d, want 202\n%s", code, stderr.String())
	}
	if code := post(longLines(1000, 2300)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2.3 MB POST: %d, want 413", code)
	}
	if code := post("Nov 24 06:00:00 web1 app[1]: " + strings.Repeat("z", 150<<10) + "\n"); code != http.StatusAccepted {
		t.Fatalf("one 150 KB line for a 64 KiB topic: %d, want 202", code)
	}
	evs := decodeAll(t, kafkatest.ReadN(t, cfg, topic, 481, 30*time.Second))
	cut := 0
	for _, ev := range evs {
		if ev.GetFields()["parse.truncated"] == "true" && strings.HasPrefix(ev.GetRaw(), "Nov 24 06:00:00 web1 app[1]: zzz") && len(ev.GetRaw()) < 64<<10 {
			cut++
		}
	}
	if len(evs) != 481 || cut != 1 {
		t.Fatalf("%d events, %d cut to fit; want 481 and 1", len(evs), cut)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
}
