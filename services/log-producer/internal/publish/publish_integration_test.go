//go:build integration

package publish

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

func newWriter(t testing.TB, cfg kafkax.Config) *kafkax.Writer {
	t.Helper()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestPublishToTheBroker(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 6)
	p := New(newWriter(t, cfg), Options{Topic: topic})
	label := &logwardenpb.Label{Anomalous: true, Scenario: "sensitive_file", IncidentId: "inc-9"}
	lines := []source.Line{
		{Text: "[01/Feb/2024 14:46:21] 10.0.0.1 veronica08 accessed file '/etc/shadow'", Source: "generator", Label: label},
		{Text: "Dec 10 07:13:43 LabSZ sshd[24227]: Failed password for root from 5.36.59.76 port 42393 ssh2", Source: "file:/var/log/auth.log"},
		{Text: "no structure at all", Source: "stdin"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Publish(ctx, lines); err != nil {
		t.Fatal(err)
	}
	msgs := kafkatest.ReadN(t, cfg, topic, 3, 30*time.Second)
	byKey := map[string]kafkax.Message{}
	for _, m := range msgs {
		byKey[string(m.Key)] = m
	}
	for _, tt := range []struct {
		key, user, action, target, format string
		label                             *logwardenpb.Label
	}{
		{"veronica08", "veronica08", "file_access", "/etc/shadow", "tutorial", label},
		{"root", "root", "login_failed", "", "auth", nil},
		{"stdin", "", "", "", "raw", nil},
	} {
		m, ok := byKey[tt.key]
		if !ok {
			t.Fatalf("no message keyed %q in %d messages", tt.key, len(msgs))
		}
		ev := &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetUser() != tt.user || ev.GetAction() != tt.action || ev.GetTarget() != tt.target ||
			ev.GetFields()["parse.format"] != tt.format || !proto.Equal(ev.GetLabel(), tt.label) {
			t.Errorf("%s: event %v", tt.key, ev)
		}
		if m.Header(kafkax.HeaderEventID) != ev.GetId() || len(ev.GetId()) != 26 ||
			m.Header(kafkax.HeaderSchema) != "logwarden.v1.LogEvent" || m.Header(kafkax.HeaderContentType) != kafkax.ContentTypeProtobuf {
			t.Errorf("%s: headers %v", tt.key, m.Headers)
		}
		if _, ok := m.ProducedAt(); !ok {
			t.Errorf("%s: no lw-produced-at", tt.key)
		}
	}
}

// BenchmarkPublishRealBroker measures sustained full-speed publishing of tutorial lines
// (parse, encode, write with acks=all) in batches of 500 to a 6-partition topic.
func BenchmarkPublishRealBroker(b *testing.B) {
	cfg := kafkatest.Config(b)
	topic := kafkatest.NewTopic(b, cfg, 6)
	p := New(newWriter(b, cfg), Options{Topic: topic})
	const batch = 500
	lines := make([]source.Line, batch)
	for i := range lines {
		lines[i] = source.Line{Text: fmt.Sprintf("[01/Feb/2024 14:46:21] 10.0.%d.%d user%02d accessed file '/home/user%02d/docs/f%d.txt'", i%250, i%200, i%50, i%50, i), Source: "generator"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	for b.Loop() {
		if err := p.Publish(ctx, lines); err != nil {
			b.Fatal(err)
		}
		events += batch
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
