//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func decodeAll(t *testing.T, msgs []kafkax.Message) []*logwardenpb.LogEvent {
	t.Helper()
	out := make([]*logwardenpb.LogEvent, len(msgs))
	for i, m := range msgs {
		out[i] = &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, out[i]); err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != out[i].GetUser() && out[i].GetUser() != "" {
			t.Fatalf("key %q for user %q", m.Key, out[i].GetUser())
		}
	}
	return out
}

// TestRunStdinEndsAtEOF: `log-producer --sources stdin` publishes its input and exits 0.
func TestRunStdinEndsAtEOF(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	var in strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&in, "Nov 24 06:00:%02d web1 sudo:    user%d : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls %d\n", i, i%5, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	err := run(ctx, []string{"--sources", "stdin", "--topic", topic, "--http-addr", "127.0.0.1:0"},
		env(map[string]string{"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "LOG_LEVEL": "warn"}),
		strings.NewReader(in.String()), io.Discard, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	evs := decodeAll(t, kafkatest.ReadN(t, cfg, topic, 50, 30*time.Second))
	for _, ev := range evs {
		if ev.GetAction() != "sudo" || ev.GetSource() != "stdin" || ev.GetFields()["parse.format"] != "auth" {
			t.Fatalf("event %v", ev)
		}
	}
}

// TestRunGeneratorCount: a generator with a count is finite too; its events carry labels.
func TestRunGeneratorCount(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	err := run(ctx, []string{"run"}, env(map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "TOPIC": topic, "SOURCES": "generator", "HTTP_ADDR": "127.0.0.1:0",
		"GENERATOR_RATE": "0", "GENERATOR_COUNT": "2000", "GENERATOR_ANOMALY_RATE": "0.05", "GENERATOR_SEED": "9", "LOG_LEVEL": "warn",
	}), strings.NewReader(""), io.Discard, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	labelled := 0
	for _, ev := range decodeAll(t, kafkatest.ReadN(t, cfg, topic, 2000, 30*time.Second)) {
		if ev.GetLabel().GetAnomalous() {
			labelled++
		}
	}
	if labelled == 0 {
		t.Fatal("no labelled event")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunFileAndHTTP runs the endless sources together until cancelled: lines appended to
// a followed file and lines posted to the API (with a token from the token file) all reach
// the topic; /readyz and /metrics answer on the ops port only, the ingest API on its own.
func TestRunFileAndHTTP(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	if err := os.WriteFile(logPath, []byte("old line, before start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, ops := freeAddr(t), freeAddr(t)
	const token = "test-token-0123456789"
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# ingest clients\ntester "+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "TOPIC": topic, "SOURCES": "file,http", "INGEST_ADDR": addr, "HTTP_ADDR": ops, "INGEST_TOKENS_FILE": tokens,
			"FILE_PATHS": filepath.Join(dir, "*.log"), "FILE_STATE_PATH": filepath.Join(dir, "state.json"),
			"FILE_POLL_INTERVAL": "50ms", "LOG_LEVEL": "warn",
		}), strings.NewReader(""), io.Discard, &stderr)
	}()
	// Wait for the server, then post.
	body := "[24/Nov/2026 06:00:00] 10.0.0.1 alice logged in successfully\n[24/Nov/2026 06:00:01] 10.0.0.1 alice executed command 'id'\n"
	var code int
	for i := 0; code != http.StatusAccepted; i++ {
		if i > 200 {
			t.Fatalf("ingest never answered 202 (last %d)\n%s", code, stderr.String())
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/logs", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
		}
		if code != http.StatusAccepted {
			time.Sleep(50 * time.Millisecond)
		}
	}
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186")
	f.Close()

	evs := decodeAll(t, kafkatest.ReadN(t, cfg, topic, 3, 30*time.Second))
	sources := map[string]int{}
	for _, ev := range evs {
		sources[ev.GetSource()]++
		if ev.GetRaw() == "old line, before start" {
			t.Fatal("file.start_at=end published a line written before the start")
		}
	}
	if sources["http"] != 2 || sources["file:"+logPath] != 1 {
		t.Fatalf("sources %v", sources)
	}
	if resp, err := http.Post("http://"+addr+"/v1/logs", "text/plain", strings.NewReader("no token\n")); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ingest without a token: %v %v", resp, err)
	}
	for _, path := range []string{"/readyz", "/metrics", "/healthz"} {
		if resp, err := http.Get("http://" + addr + path); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s on the ingest port: %v %v", path, resp, err)
		}
	}
	if resp, err := http.Post("http://"+ops+"/v1/logs", "text/plain", strings.NewReader(body)); err != nil || resp.StatusCode == http.StatusAccepted {
		t.Fatalf("ingest on the ops port: %v %v", resp, err)
	}
	for path, want := range map[string]string{"/readyz": "", "/metrics": "logwarden_producer_events_published_total"} {
		resp, err := http.Get("http://" + ops + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v\n%s", err, stderr.String())
	}
}
