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

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm/llmtest"
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

// running is the command started by runCmd.
type running struct {
	cfg                  kafkax.Config
	in, verdicts, alerts string
	addr                 string
	stderr               *lockedBuffer
	stop                 func() error
}

// runCmd runs the command (run) against the test broker with its own topics and group,
// plus env, and produces line once its input topic exists.
func runCmd(t *testing.T, env map[string]string, line string) running {
	t.Helper()
	cfg := kafkatest.Config(t)
	base := kafkatest.UniqueName("ac-run")
	r := running{cfg: cfg, in: base + ".raw", verdicts: base + ".verdicts", alerts: base + ".alerts", stderr: &lockedBuffer{}}
	t.Cleanup(func() {
		_ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), r.in, r.verdicts, r.alerts, kafkax.DLQTopic(r.in), kafkax.DLQTopic(r.verdicts), kafkax.DLQTopic(r.alerts), base+".state")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	ln.Close()
	all := map[string]string{
		"KAFKA_BROKERS": strings.Join(cfg.Brokers, ","), "INPUT_TOPIC": r.in, "VERDICTS_TOPIC": r.verdicts, "ALERTS_TOPIC": r.alerts,
		"GROUP_ID": base, "HTTP_ADDR": r.addr, "TOPIC_PARTITIONS": "2", "CONSUMER_SESSION_TIMEOUT": "6s",
		"CONSUMER_HEARTBEAT_INTERVAL": "500ms", "STATE_TOPIC": base + ".state",
	}
	for k, v := range env {
		all[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return all[k] }, strings.NewReader(""), io.Discard, r.stderr)
	}()
	var once sync.Once
	var runErr error
	r.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = r.stop() })

	// Topics are created at start; produce once the input topic exists.
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	m := kafkax.Message{Topic: r.in, Key: []byte("alice"), Value: []byte(line)}
	for {
		if err = w.Write(rctx, m); err == nil || rctx.Err() != nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	return r
}

const shadowLine = "[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file '/etc/shadow'"

// The command end to end: env config, topics created, a text line in → a
// verdict out, /readyz and /metrics, the start summary, a clean stop.
func TestRunService(t *testing.T) {
	r := runCmd(t, nil, shadowLine)
	kafkatest.ReadN(t, r.cfg, r.verdicts, 1, 30*time.Second)
	kafkatest.ReadN(t, r.cfg, r.alerts, 1, 30*time.Second)

	if code, _ := get(t, "http://"+r.addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz %d", code)
	}
	_, metrics := get(t, "http://"+r.addr+"/metrics")
	for _, want := range []string{"logwarden_events_classified_total 1", `logwarden_anomalies_total{detector="rules",severity="SEVERITY_HIGH"} 1`, "logwarden_classify_seconds_count"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := r.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if log := r.stderr.String(); !strings.Contains(log, "llm stage off") || !strings.Contains(log, r.in+" → verdicts "+r.verdicts) {
		t.Errorf("start summary missing from the log:\n%s", log)
	}
}

// OPENAI_SUMMARIES end to end: the alert on the alerts topic carries the summary of
// the (fake) model.
func TestRunServiceAlertSummary(t *testing.T) {
	model := llmtest.NewServer(t)
	r := runCmd(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": model.URL, "OPENAI_SUMMARIES": "true"}, shadowLine)
	msgs := kafkatest.ReadN(t, r.cfg, r.alerts, 1, 30*time.Second)
	a := &logwardenpb.Alert{}
	if err := proto.Unmarshal(msgs[0].Value, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.GetLlmSummary(), "Password hash file read") || a.GetSeverity() != logwardenpb.Severity_SEVERITY_HIGH {
		t.Errorf("alert %v, want the model's summary in llm_summary", a)
	}
	if err := r.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if log := r.stderr.String(); !strings.Contains(log, "summaries of medium+ alerts") || strings.Contains(log, "sk-test") {
		t.Errorf("start line does not say summaries are on, or leaks the key:\n%s", log)
	}
}
