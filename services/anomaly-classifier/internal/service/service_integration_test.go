//go:build integration

package service_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm/llmtest"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

type rig struct {
	cfg                  kafkax.Config
	in, verdicts, alerts string
	group                string
}

func newRig(t *testing.T) rig {
	t.Helper()
	cfg := kafkatest.Config(t)
	r := rig{cfg: cfg, in: kafkatest.NewTopic(t, cfg, 3), verdicts: kafkatest.NewTopic(t, cfg, 3),
		alerts: kafkatest.NewTopic(t, cfg, 3), group: kafkatest.UniqueName("ac-test")}
	t.Cleanup(func() {
		_ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), kafkax.DLQTopic(r.in), kafkax.DLQTopic(r.alerts))
	})
	return r
}

func (r rig) options(batch int) service.Options {
	cc := kafkax.DefaultConsumerConfig(r.group, r.in)
	cc.BatchSize, cc.Linger = batch, 5*time.Millisecond
	cc.SessionTimeout, cc.HeartbeatInterval, cc.ShutdownGrace = 6*time.Second, 500*time.Millisecond, 5*time.Second
	return service.Options{Kafka: r.cfg, Consumer: cc, Writer: kafkax.DefaultWriterConfig(),
		Topics:     service.Topics{Verdicts: r.verdicts, Alerts: r.alerts},
		Partitions: 3, ReplicationFactor: 1, DrainEvery: 50 * time.Millisecond}
}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs the service until the returned stop is called; stop returns Run's error.
func start(t *testing.T, o service.Options, h *service.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Consume(ctx, o, h, nil, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func produce(t *testing.T, cfg kafkax.Config, msgs ...kafkax.Message) {
	t.Helper()
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.Write(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

func line(user, file string) string {
	return fmt.Sprintf("[24/Nov/2026 09:15:02] 10.0.0.7 %s accessed file '%s'", user, file)
}

func protoEvent(t *testing.T, topic, id, raw, user string) kafkax.Message {
	t.Helper()
	m, err := kafkax.NewProtoMessage(topic, user, id, &logwardenpb.LogEvent{Id: id, Raw: raw, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func textRecord(topic, key, value string) kafkax.Message {
	return kafkax.Message{Topic: topic, Key: []byte(key), Value: []byte(value)}
}

func verdicts(t *testing.T, cfg kafkax.Config, topic string, n int) map[string]*logwardenpb.Verdict {
	t.Helper()
	out := map[string]*logwardenpb.Verdict{}
	for _, m := range kafkatest.ReadN(t, cfg, topic, n, 40*time.Second) {
		v := &logwardenpb.Verdict{}
		if err := proto.Unmarshal(m.Value, v); err != nil {
			t.Fatalf("verdict %s: %v", m, err)
		}
		if string(m.Key) == "" {
			t.Errorf("verdict of %s without a key", v.GetEvent().GetId())
		}
		out[v.GetEvent().GetId()] = v
	}
	return out
}

func alertsByEntity(t *testing.T, msgs []kafkax.Message) map[string]*logwardenpb.Alert {
	t.Helper()
	out := map[string]*logwardenpb.Alert{}
	for _, m := range msgs {
		a := &logwardenpb.Alert{}
		if err := proto.Unmarshal(m.Value, a); err != nil {
			t.Fatalf("alert %s: %v", m, err)
		}
		if string(m.Key) != a.GetEntity() {
			t.Errorf("alert %s keyed %q, entity %q", a.GetId(), m.Key, a.GetEntity())
		}
		out[a.GetEntity()] = a
	}
	return out
}

// A topic mixing protobuf events, Fluent Bit JSON and plain text is classified
// alike; binary garbage goes to the input's DLQ with the reason.
func TestMixedInputVerdictsAlertsAndDLQ(t *testing.T) {
	r := newRig(t)
	garbage := make([]byte, 256)
	_, _ = rand.Read(garbage)
	garbage[0] = 0x01
	fluent, _ := json.Marshal(map[string]any{"date": 1764000000.5, "log": line("bob", "/etc/shadow"), "file": "/var/log/app.log"})
	produce(t, r.cfg,
		protoEvent(t, r.in, "01JDPROTO00000000000000001", line("alice", "/etc/shadow"), "alice"),
		textRecord(r.in, "bob", string(fluent)),
		textRecord(r.in, "carol", line("carol", "/etc/shadow")+"\n"),
		textRecord(r.in, "dave", "[24/Nov/2026 09:15:03] 10.0.0.8 dave logged in successfully"),
		kafkax.Message{Topic: r.in, Key: []byte("junk"), Value: garbage},
	)
	start(t, r.options(100), service.NewHandler(newEngine(t), service.HandlerOptions{Topics: r.options(0).Topics}))

	vs := verdicts(t, r.cfg, r.verdicts, 4)
	byUser := map[string]*logwardenpb.Verdict{}
	for _, v := range vs {
		byUser[v.GetEvent().GetUser()] = v
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		v := byUser[u]
		if v == nil || !v.GetAnomalous() || v.GetEvent().GetTarget() != "/etc/shadow" {
			t.Errorf("%s: verdict %v, want anomalous on /etc/shadow", u, v)
		}
	}
	if v := byUser["dave"]; v == nil || v.GetAnomalous() {
		t.Errorf("dave: verdict %v, want normal", v)
	}
	if byUser["bob"].GetEvent().GetSource() != "/var/log/app.log" {
		t.Errorf("bob's source %q, want the Fluent Bit file", byUser["bob"].GetEvent().GetSource())
	}
	alerts := alertsByEntity(t, kafkatest.ReadN(t, r.cfg, r.alerts, 3, 30*time.Second))
	for _, u := range []string{"alice", "bob", "carol"} {
		if alerts[u] == nil {
			t.Errorf("no alert for %s (got %v)", u, alerts)
		}
	}
	dl := kafkatest.ReadN(t, r.cfg, kafkax.DLQTopic(r.in), 1, 30*time.Second)
	d, err := kafkax.DecodeDeadLetter(dl[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.GetError(), "binary") || string(d.GetKey()) != "junk" || d.GetService() != service.Name {
		t.Errorf("dead letter %v", d)
	}
}

// failingHandler processes batches like the real one but fails the batch that
// holds event failAt, so Run stops without writing or committing it.
func failingHandler(h *service.Handler, failAt string) kafkax.BatchHandler {
	return func(ctx context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
		outs, err := h.Handle(ctx, batch)
		for _, m := range batch {
			if m.Header(kafkax.HeaderEventID) == failAt {
				return nil, errors.New("injected crash before commit")
			}
		}
		return outs, err
	}
}

// A consumer that stops without committing midway loses nothing: the next run
// re-processes the batch, and alerts come out with the same ids as in a run
// that never failed.
func TestRedeliveryAfterCrash(t *testing.T) {
	r := newRig(t)
	const n = 30
	var msgs []kafkax.Message
	var ids []string
	for i := range n {
		id := fmt.Sprintf("01JDREDELIVERY000000000%03d", i)
		user := fmt.Sprintf("user%02d", i%10)
		file := "/srv/data/report.txt"
		if i%3 == 0 {
			file = "/etc/shadow"
		}
		msgs = append(msgs, protoEvent(t, r.in, id, line(user, file), user))
		ids = append(ids, id)
	}
	produce(t, r.cfg, msgs...)

	o := r.options(4)
	h1 := service.NewHandler(newEngine(t), service.HandlerOptions{Topics: o.Topics})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	w, err := kafkax.NewWriter(r.cfg, o.Writer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := service.EnsureTopics(ctx, o); err != nil {
		t.Fatal(err)
	}
	c, err := kafkax.NewConsumer(r.cfg, o.Consumer, w, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx, failingHandler(h1, ids[n/2])); err == nil {
		t.Fatal("the crashing run returned nil")
	}

	stop := start(t, o, service.NewHandler(newEngine(t), service.HandlerOptions{Topics: o.Topics}))
	vs := verdicts(t, r.cfg, r.verdicts, n)
	for _, id := range ids {
		if vs[id] == nil {
			t.Errorf("event %s has no verdict", id)
		}
	}
	got := alertsByEntity(t, kafkatest.ReadN(t, r.cfg, r.alerts, 10, 30*time.Second))
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A run that never failed, from scratch, yields the same alert ids.
	ref := service.NewHandler(newEngine(t), service.HandlerOptions{Topics: o.Topics})
	in := kafkatest.ReadN(t, r.cfg, r.in, n, 30*time.Second)
	outs, err := ref.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var refAlerts []kafkax.Message
	for _, m := range outs {
		if m.Topic == r.alerts {
			refAlerts = append(refAlerts, m)
		}
	}
	want := alertsByEntity(t, refAlerts)
	if len(want) != 10 || len(got) != 10 {
		t.Errorf("%d alerts without failure, %d after redelivery; want 10 (one per user who read /etc/shadow)", len(want), len(got))
	}
	for e, a := range want {
		if got[e] == nil || got[e].GetId() != a.GetId() {
			t.Errorf("alert of %s: id %q after redelivery, %q without failure", e, got[e].GetId(), a.GetId())
		}
	}
}

// With the LLM on and the model hanging or failing, every event still gets its
// verdict, and verdicts the LLM was asked about are marked degraded.
func TestLLMDownLosesNothing(t *testing.T) {
	for _, c := range []struct {
		name     string
		behavior llmtest.Behavior
	}{{"hang", llmtest.Hang}, {"500", llmtest.ServerError}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			srv := llmtest.NewServer(t)
			srv.SetDefault(llmtest.Step{Behavior: c.behavior})
			lc := llm.DefaultConfig()
			lc.APIKey, lc.BaseURL = "x", srv.URL
			lc.Timeout, lc.MaxRetries, lc.Linger = 300*time.Millisecond, 0, 20*time.Millisecond
			stage, err := llm.New(lc, zap.NewNop(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer stage.Close()

			const n = 40
			var msgs []kafkax.Message
			for i := range n {
				user := fmt.Sprintf("u%02d", i)
				// distinct shapes → new templates → LLM candidates
				raw := fmt.Sprintf("[24/Nov/2026 09:15:02] 10.0.0.7 %s executed command '%s'", user, strings.Repeat("tool"+fmt.Sprint(i)+" ", 1+i%7))
				msgs = append(msgs, protoEvent(t, r.in, fmt.Sprintf("01JDLLMDOWN0000000000000%02d", i), raw, user))
			}
			produce(t, r.cfg, msgs...)
			o := r.options(10)
			o.Stage = stage
			start(t, o, service.NewHandler(newEngine(t), service.HandlerOptions{Topics: o.Topics, Stage: stage}))

			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			seen := map[string]bool{}
			degraded := 0
			_, err = kafkax.ReadTopicUntil(ctx, r.cfg, r.verdicts, func(m kafkax.Message) bool {
				v := &logwardenpb.Verdict{}
				if proto.Unmarshal(m.Value, v) == nil {
					seen[v.GetEvent().GetId()] = true
					if v.GetDegraded() {
						degraded++
					}
				}
				return len(seen) == n && degraded > 0
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != n {
				t.Errorf("%d of %d events got a verdict", len(seen), n)
			}
			if degraded == 0 {
				t.Errorf("no verdict marked degraded (LLM calls: %d)", srv.Calls())
			}
		})
	}
}

// With a sensible model, an event only the model finds suspicious gets an
// upgraded verdict (an llm finding) and an "llm:<entity>" alert, published by
// the idle drainer while the consumer has nothing else to do.
func TestLLMOpinionRaisesAlert(t *testing.T) {
	r := newRig(t)
	srv := llmtest.NewServer(t)
	lc := llm.DefaultConfig()
	lc.APIKey, lc.BaseURL, lc.Linger = "x", srv.URL, 20*time.Millisecond
	stage, err := llm.New(lc, zap.NewNop(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stage.Close()
	produce(t, r.cfg, protoEvent(t, r.in, "01JDLLMSCAN000000000000001",
		"[24/Nov/2026 09:15:02] 10.0.0.7 mallory executed command 'nmap -sS 10.0.0.0/24'", "mallory"))
	o := r.options(10)
	o.Stage = stage
	start(t, o, service.NewHandler(newEngine(t), service.HandlerOptions{Topics: o.Topics, Stage: stage}))

	vs := kafkatest.ReadN(t, r.cfg, r.verdicts, 2, 30*time.Second)
	last := &logwardenpb.Verdict{}
	if err := proto.Unmarshal(vs[len(vs)-1].Value, last); err != nil {
		t.Fatal(err)
	}
	hasLLM := false
	for _, f := range last.GetFindings() {
		hasLLM = hasLLM || f.GetDetector() == llm.Detector
	}
	if !hasLLM || !last.GetAnomalous() {
		t.Errorf("upgraded verdict %v, want anomalous with an llm finding", last)
	}
	a := alertsByEntity(t, kafkatest.ReadN(t, r.cfg, r.alerts, 1, 30*time.Second))["mallory"]
	if a == nil || a.GetFingerprint() != "llm:mallory" || a.GetId() != "llm-01JDLLMSCAN000000000000001" {
		t.Errorf("alert %v", a)
	}
}

func failedLogin(t *testing.T, topic, id string, sec int) kafkax.Message {
	t.Helper()
	return protoEvent(t, topic, id, fmt.Sprintf("[24/Nov/2026 09:15:%02d] 10.0.%d.8 bob failed to log in", sec, sec), "bob")
}

// readAlertsUntil reads alerts until one for entity with title; all of them are returned.
func readAlertsUntil(t *testing.T, cfg kafkax.Config, topic, entity, title string) []*logwardenpb.Alert {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var got []*logwardenpb.Alert
	_, err := kafkax.ReadTopicUntil(ctx, cfg, topic, func(m kafkax.Message) bool {
		a := &logwardenpb.Alert{}
		if proto.Unmarshal(m.Value, a) != nil {
			return false
		}
		got = append(got, a)
		return a.GetEntity() == entity && a.GetTitle() == title
	})
	if err != nil {
		t.Fatalf("waiting for the %q alert of %s: %v (alerts so far: %v)", title, entity, err, got)
	}
	return got
}

// Duplicates on the real broker: four failed logins written twice (a producer retry,
// same event ids at new offsets) must not raise "Brute force on one account", neither
// on one instance nor across a takeover where the new owner replays the history and
// then receives the copies live. A sensitive read by the same user (same partition,
// same alert key) comes after the copies, so its alert bounds what was published.
func TestDuplicateEventsRaiseNoAlert(t *testing.T) {
	ids := func(prefix string) []string {
		var out []string
		for i := range 4 {
			out = append(out, fmt.Sprintf("%s%02d", prefix, i))
		}
		return out
	}
	newHandler := func(r rig) *service.Handler {
		return service.NewHandler(newEngine(t), service.HandlerOptions{Topics: r.options(0).Topics,
			DedupEvents: service.DefaultDedupEvents, ReplayEvents: 1000,
			Replay: kafkatest.Admin(t, r.cfg).ReadPartitionRange})
	}
	sentinel := func(r rig) kafkax.Message {
		return protoEvent(t, r.in, "01JDDUPSENTINEL00000000001", "[24/Nov/2026 09:15:30] 10.0.0.7 bob accessed file '/etc/shadow'", "bob")
	}
	check := func(alerts []*logwardenpb.Alert) {
		t.Helper()
		for _, a := range alerts {
			if strings.HasPrefix(a.GetTitle(), "Brute force") {
				t.Errorf("alert %q (%s): four failed logins delivered twice counted eight times", a.GetTitle(), a.GetSummary())
			}
		}
	}

	t.Run("producer retry", func(t *testing.T) {
		r := newRig(t)
		var msgs []kafkax.Message
		for i, id := range append(ids("01JDDUPRETRY0000000000000"), ids("01JDDUPRETRY0000000000000")...) {
			msgs = append(msgs, failedLogin(t, r.in, id, i%4))
		}
		produce(t, r.cfg, append(msgs, sentinel(r))...)
		start(t, r.options(3), newHandler(r))
		check(readAlertsUntil(t, r.cfg, r.alerts, "bob", "Password hash file read"))
	})

	t.Run("replay then live copies", func(t *testing.T) {
		r := newRig(t)
		var first []kafkax.Message
		for i, id := range ids("01JDDUPTAKEOVER00000000000") {
			first = append(first, failedLogin(t, r.in, id, i))
		}
		produce(t, r.cfg, first...)
		stop := start(t, r.options(10), newHandler(r))
		verdicts(t, r.cfg, r.verdicts, 4) // handled and committed by the first owner
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		// The producer's retry lands after the first owner's commit; a new owner takes over.
		produce(t, r.cfg, append(first, sentinel(r))...)
		start(t, r.options(10), newHandler(r))
		check(readAlertsUntil(t, r.cfg, r.alerts, "bob", "Password hash file read"))
	})
}
