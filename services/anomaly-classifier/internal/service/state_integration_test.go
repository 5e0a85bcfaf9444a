//go:build integration

package service_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/service"
)

// replica is one in-process classifier service (service.Run).
type replica struct {
	addr string
	stop func() error
}

// runReplica runs the service on in with the state topic state until stopped (or the
// test ends) and waits until it is ready.
func runReplica(t *testing.T, cfg kafkax.Config, group, in, verdicts, alerts, state string, replay int64, ec engine.Config) replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cc := kafkax.DefaultConsumerConfig(group, in)
	cc.BatchSize, cc.Linger = 50, 5*time.Millisecond
	cc.SessionTimeout, cc.HeartbeatInterval, cc.ShutdownGrace = 6*time.Second, 500*time.Millisecond, 5*time.Second
	sc := service.Config{Kafka: cfg, HTTP: obs.HTTPConfig{Addr: addr}, Consumer: cc, Writer: kafkax.DefaultWriterConfig(),
		Topics: service.Topics{Verdicts: verdicts, Alerts: alerts}, Partitions: 2, ReplicationFactor: 1,
		Engine: ec, LLM: llm.DefaultConfig(), ReplayEvents: replay, StateTopic: state, StateSaveInterval: 300 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- service.Run(ctx, sc, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))) }()
	var stopped bool
	var runErr error
	r := replica{addr: addr, stop: func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}}
	t.Cleanup(func() { _ = r.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica on %s not ready within 60s", in)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitMetric polls a replica's /metrics until sample reaches at least min.
func waitMetric(t *testing.T, r replica, sample string, min float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for metricValue(r.addr, sample) < min {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want ≥ %v", sample, metricValue(r.addr, sample), min)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// appLine is an info line of the k-th kind of a service's log at at.
func appLine(at time.Time, k int) string {
	w := func(n int) string {
		return string([]byte{byte('a' + n%26), byte('a' + n/26%26), byte('a' + n/676%26)})
	}
	return fmt.Sprintf("%s INFO %s %s %s %s done", at.Format("2006-01-02 15:04:05,000"), w(k), w(k*7+1), w(k*13+2), w(k*17+3))
}

func ruleIDs(v *logwardenpb.Verdict) map[string]bool {
	out := map[string]bool{}
	for _, f := range v.GetFindings() {
		out[f.GetRuleId()] = true
	}
	return out
}

// Two replicas in process, each with its own input, share one state topic: the
// templates one learnt (its warm-up included) are known to the other, both ways,
// while they run.
func TestReplicasShareFleetKnowledge(t *testing.T) {
	cfg := kafkatest.Config(t)
	state := kafkatest.UniqueName("state")
	t.Cleanup(func() { _ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), state) })
	inA, inB := kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2)
	vA, vB, alerts := kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2)
	t.Cleanup(func() {
		_ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), kafkax.DLQTopic(inA), kafkax.DLQTopic(inB), kafkax.DLQTopic(vA), kafkax.DLQTopic(vB), kafkax.DLQTopic(alerts))
	})
	a := runReplica(t, cfg, kafkatest.UniqueName("ac-a"), inA, vA, alerts, state, 0, engine.DefaultConfig())
	b := runReplica(t, cfg, kafkatest.UniqueName("ac-b"), inB, vB, alerts, state, 0, engine.DefaultConfig())

	// a learns 12 kinds of line over two hours: its warm-up ends, they are its baseline
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	var msgs []kafkax.Message
	for i := 0; i < 240; i++ {
		msgs = append(msgs, textRecord(inA, "app1", appLine(t0.Add(time.Duration(i)*30*time.Second), i%12)))
	}
	produce(t, cfg, msgs...)
	verdicts(t, cfg, vA, len(msgs))
	// a saves every 300 ms: three more of its records hold everything it learnt
	fleetRead := `logwarden_state_records_read_total{kind="fleet"}`
	waitMetric(t, b, fleetRead, metricValue(b.addr, fleetRead)+3)
	if n := metricValue(b.addr, `logwarden_state_merged_total{kind="known_templates"}`); n != 12 {
		t.Fatalf("b merged %v templates of a's, want 12", n)
	}

	// b knows a's kinds and is past the warm-up: only the new kind is new
	later := t0.Add(3 * time.Hour)
	produce(t, cfg, textRecord(inB, "app2", appLine(later, 3)), textRecord(inB, "app2", appLine(later, 40)))
	got := verdicts(t, cfg, vB, 2)
	for _, v := range got {
		known := strings.Contains(v.GetEvent().GetRaw(), strings.Fields(appLine(later, 3))[3])
		if ids := ruleIDs(v); ids["template.new"] == known {
			t.Errorf("b: %q: findings %v; want template.new only for the kind a never saw", v.GetEvent().GetRaw(), ids)
		}
	}
	// and a learns b's new kind from b's next saves
	waitMetric(t, a, fleetRead, metricValue(a.addr, fleetRead)+3)
	if n := metricValue(a.addr, `logwarden_state_merged_total{kind="known_templates"}`); n != 1 {
		t.Fatalf("a merged %v templates of b's, want 1", n)
	}
	produce(t, cfg, textRecord(inA, "app1", appLine(later.Add(time.Minute), 40)))
	for id, v := range verdicts(t, cfg, vA, len(msgs)+1) {
		if strings.Contains(v.GetEvent().GetRaw(), later.Add(time.Minute).Format("15:04:05")) && ruleIDs(v)["template.new"] {
			t.Errorf("a: event %s: the kind b learnt is new to a", id)
		}
	}
	for _, r := range []replica{a, b} {
		if err := r.stop(); err != nil {
			t.Error(err)
		}
	}
}

// A restarted replica starts from the state topic: its users' baselines come back
// without a replay of the partitions' history, and their early checks work at once
// (alice, known from one network, shows up from a network nobody uses). Without the
// state topic (and without a replay) the restarted replica knows nothing of alice.
func TestRestartStartsWarmFromTheStateTopic(t *testing.T) {
	cfg := kafkatest.Config(t)
	ec := engine.DefaultConfig()
	ec.Stats.GlobalWarmup = 20
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprint("state topic ", shared), func(t *testing.T) {
			state, replay := "", int64(0)
			if shared {
				state, replay = kafkatest.UniqueName("state"), 20000
				t.Cleanup(func() { _ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), state) })
			}
			in, vt, alerts := kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2), kafkatest.NewTopic(t, cfg, 2)
			t.Cleanup(func() {
				_ = kafkatest.Admin(t, cfg).DeleteTopics(context.Background(), kafkax.DLQTopic(in), kafkax.DLQTopic(vt), kafkax.DLQTopic(alerts))
			})
			group := kafkatest.UniqueName("ac-restart")
			first := runReplica(t, cfg, group, in, vt, alerts, state, replay, ec)
			t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
			var msgs []kafkax.Message
			for i := 0; i < 30; i++ {
				for _, u := range []string{"alice", "bob", "carol"} {
					msgs = append(msgs, textRecord(in, u, commandLine(t0.Add(time.Duration(i)*time.Minute), "10.1.0.7", u, "ls -la")))
				}
			}
			produce(t, cfg, msgs...)
			verdicts(t, cfg, vt, len(msgs))
			if err := first.stop(); err != nil { // saves the users at exit
				t.Fatal(err)
			}

			second := runReplica(t, cfg, group, in, vt, alerts, state, replay, ec)
			produce(t, cfg, textRecord(in, "alice", commandLine(t0.Add(40*time.Minute), "10.77.0.1", "alice", "ls -la")),
				textRecord(in, "bob", commandLine(t0.Add(40*time.Minute), "10.1.0.7", "bob", "ls -la")),
				textRecord(in, "carol", commandLine(t0.Add(40*time.Minute), "10.1.0.7", "carol", "ls -la")))
			var last *logwardenpb.Verdict
			for _, v := range verdicts(t, cfg, vt, len(msgs)+3) {
				if strings.Contains(v.GetEvent().GetRaw(), "10.77.0.1") {
					last = v
				}
			}
			if ids := ruleIDs(last); ids["stats.new-network"] != shared {
				t.Fatalf("alice from a network nobody uses after the restart: findings %v", ids)
			}
			if !shared {
				return
			}
			if n := metricValue(second.addr, "logwarden_state_replayed_events_total"); n != 0 {
				t.Errorf("%v events replayed after a restart from the state topic, want 0", n)
			}
			if n := metricValue(second.addr, `logwarden_state_user_restores_total{outcome="found"}`); n < 1 {
				t.Errorf("users restored from %v saves", n)
			}
			if n := metricValue(second.addr, "logwarden_state_users"); n != 3 {
				t.Errorf("%v users after the restart, want 3", n)
			}
		})
	}
}
