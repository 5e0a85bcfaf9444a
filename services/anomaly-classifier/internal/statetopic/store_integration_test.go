//go:build integration

package statetopic_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/statetopic"
)

// word is the n-th of many distinct four-letter words.
func word(n int) string {
	return string([]byte{byte('a' + n%26), byte('a' + n/26%26), byte('a' + n/676%26), byte('a' + n/17576%26)})
}

// learnt returns an engine that learnt templates kinds of line and users users (spread
// over partitions of the input topic).
func learnt(t testing.TB, cfg engine.Config, templates, users, partitions int) *engine.Engine {
	t.Helper()
	eng, err := engine.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	parse := func(s string) *logwardenpb.LogEvent {
		ev := &logwardenpb.LogEvent{}
		p.Parse(s, ev)
		return ev
	}
	for i := 0; i < templates; i++ {
		eng.ProcessFrom(parse(fmt.Sprintf("2026-01-05 10:%02d:%02d,000 INFO %s %s %s %s done", i/60%60, i%60, word(i), word(i*7+1), word(i*13+2), word(i*17+3))), int32(i%partitions))
	}
	for i := 0; i < users; i++ {
		eng.ProcessFrom(parse(fmt.Sprintf("[05/Jan/2026 1%d:%02d:00] 10.%d.%d.7 user%d executed command 'git pull origin b%d'", i%10, i%60, i%200, i%250, i, i)), int32(i%partitions))
		eng.ProcessFrom(parse(fmt.Sprintf("[06/Jan/2026 09:00:00] 10.0.0.7 user%d accessed directory '/srv/d%d'", i, i)), int32(i%partitions))
	}
	return eng
}

// partitions hands out the users of an engine's partitions as the handler does.
type partitions struct {
	eng    *engine.Engine
	topic  string
	offset map[int]int64
	mu     sync.Mutex
	saved  map[int]int64
}

func (p *partitions) Checkpoints() []statetopic.Checkpoint {
	var out []statetopic.Checkpoint
	for part, off := range p.offset {
		users, cmds := p.eng.PartitionUsers(int32(part))
		out = append(out, statetopic.Checkpoint{Topic: p.topic, Partition: part, Offset: off, HashKey: p.eng.HashKey(), Users: users, Commands: cmds})
	}
	return out
}

func (p *partitions) Saved(_ string, part int, off int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.saved[part] = off
}

type rig struct {
	cfg   kafkax.Config
	admin *kafkax.Admin
	w     *kafkax.Writer
	topic string
}

func newRig(t testing.TB, maxMessageBytes int) rig {
	t.Helper()
	cfg := kafkatest.Config(t)
	spec := statetopic.TopicSpec("", 1)
	spec.MaxMessageBytes = maxMessageBytes
	topic := kafkatest.NewTopicSpec(t, cfg, spec)
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return rig{cfg: cfg, admin: kafkatest.Admin(t, cfg), w: w, topic: topic}
}

func (r rig) store(eng *engine.Engine, parts statetopic.Partitions, reg prometheus.Registerer) *statetopic.Store {
	return statetopic.New(statetopic.Options{Topic: r.topic, Admin: r.admin, Writer: r.w, Fleet: eng, Partitions: parts,
		Locked: func(fn func()) { fn() }, Log: zap.NewNop(), Registerer: reg})
}

// load runs s until it has read the topic, and returns its stop.
func load(t testing.TB, s *statetopic.Store) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- s.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("store stopped before it was loaded: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("state topic not loaded within 60s")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// A save splits the state into records within the topic's max.message.bytes; a fresh
// replica loads it (the fleet merged, the meta key taken) and restores a partition's
// users; a smaller save tombstones the shards it no longer uses; a partition's users
// saved by another replica at a later offset are not overwritten.
func TestSaveLoadRestore(t *testing.T) {
	r := newRig(t, 64<<10)
	cfg := engine.DefaultConfig()
	src := learnt(t, cfg, 3000, 2000, 2)
	parts := &partitions{eng: src, topic: "logs.raw", offset: map[int]int64{0: 500, 1: 700}, saved: map[int]int64{}}
	s := r.store(src, parts, nil)
	stop := load(t, s) // an empty topic: writes the meta record with src's key
	if err := s.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop()
	if parts.saved[0] != 500 || parts.saved[1] != 700 {
		t.Fatalf("saved %v", parts.saved)
	}
	fleet := 0
	for _, m := range readAll(t, r) {
		if len(m.Value) > 64<<10 {
			t.Fatalf("record %s of %d bytes over max.message.bytes", m.Key, len(m.Value))
		}
		if strings.HasPrefix(string(m.Key), "fleet/") {
			fleet++
		}
	}
	if fleet < 2 {
		t.Fatalf("%d fleet records: the state should not fit one 64 KiB record", fleet)
	}

	dst, _ := engine.New(cfg, nil)
	reg := prometheus.NewRegistry()
	d := r.store(dst, &partitions{eng: dst, topic: "logs.raw", offset: map[int]int64{}, saved: map[int]int64{}}, reg)
	stop = load(t, d)
	defer stop()
	if string(dst.HashKey()) != string(src.HashKey()) {
		t.Fatal("the meta record's key was not taken")
	}
	if got, want := dst.Sizes().Templates, src.Sizes().Templates; got != want {
		t.Fatalf("%d templates loaded, want %d", got, want)
	}
	cp, ok, err := d.Users(context.Background(), "logs.raw", 1)
	if err != nil || !ok || cp.Offset != 700 {
		t.Fatalf("users of partition 1: %v %v %+v", ok, err, cp)
	}
	want, _ := src.PartitionUsers(1)
	if len(cp.Users) != len(want) || len(cp.Users) != 1000 {
		t.Fatalf("%d users restored, want %d", len(cp.Users), len(want))
	}
	if _, ok, _ := d.Users(context.Background(), "logs.raw", 2); ok {
		t.Fatal("users of a partition never saved")
	}
	if n := counter(t, reg, "logwarden_state_records_read_total", "fleet"); n != float64(fleet) {
		t.Fatalf("%v fleet records merged, want %d", n, fleet)
	}

	// a replica keeping less (smaller bounds) saves its smaller view, and partition 1 at
	// an earlier offset: a stale owner
	scfg := engine.DefaultConfig()
	scfg.Template.MaxClusters, scfg.Template.MaxTemplates, scfg.Volume.MaxTemplates = 100, 100, 100
	small, _ := engine.New(scfg, nil)
	_ = small.SetHashKey(src.HashKey())
	ps := &partitions{eng: small, topic: "logs.raw", offset: map[int]int64{1: 600}, saved: map[int]int64{}}
	s2 := r.store(small, ps, nil)
	stop2 := load(t, s2)
	if err := s2.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop2()
	if _, moved := ps.saved[1]; moved {
		t.Fatal("users saved over a later save of another replica")
	}
	keys := map[string]bool{}
	for _, m := range readAll(t, r) {
		keys[string(m.Key)] = len(m.Value) > 0 // the latest record of each key
	}
	live := 0
	for k, v := range keys {
		if strings.HasPrefix(k, "fleet/") && v {
			live++
		}
	}
	if live >= fleet {
		t.Fatalf("%d fleet shards live after a smaller save, want fewer than %d (the rest tombstoned)", live, fleet)
	}
}

// counter is the value of the sample of counter name with label kind.
func counter(t *testing.T, reg *prometheus.Registry, name, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func readAll(t testing.TB, r rig) []kafkax.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := kafkax.ReadTopicUntil(ctx, r.cfg, r.topic, func(kafkax.Message) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// BenchmarkStateTopic100k saves the state of 100,000 templates and 100,000 users (six
// partitions) to a state topic with the broker's default max.message.bytes and reports
// its bytes and records, then the time a fresh replica takes to read and merge the
// whole topic (the fleet) and to restore every partition's users.
//
//	KAFKA_BROKERS=127.0.0.1:9092 go test -tags integration -run '^$' -bench StateTopic100k -benchtime 3x ./internal/statetopic/
func BenchmarkStateTopic100k(b *testing.B) {
	const n, parts = 100000, 6
	cfg := engine.DefaultConfig()
	cfg.Template.MaxClusters, cfg.Template.MaxTemplates = n, n
	src := learnt(b, cfg, n, n, parts)
	z := src.Sizes()
	r := newRig(b, 0)
	offsets := map[int]int64{}
	for p := 0; p < parts; p++ {
		offsets[p] = 1000
	}
	reg := prometheus.NewRegistry()
	s := r.store(src, &partitions{eng: src, topic: "logs.raw", offset: offsets, saved: map[int]int64{}}, reg)
	stop := load(b, s)
	start := time.Now()
	if err := s.Save(context.Background()); err != nil {
		b.Fatal(err)
	}
	saveTook := time.Since(start)
	stop()
	bytes, records := 0, 0
	for _, m := range readAll(b, r) {
		bytes += len(m.Key) + len(m.Value)
		records++
	}
	b.ResetTimer()
	var loadTook, usersTook time.Duration
	for i := 0; i < b.N; i++ {
		dst, _ := engine.New(cfg, nil)
		d := r.store(dst, &partitions{eng: dst, topic: "logs.raw", offset: map[int]int64{}, saved: map[int]int64{}}, nil)
		t0 := time.Now()
		stop := load(b, d)
		t1 := time.Now()
		for p := 0; p < parts; p++ {
			cp, ok, err := d.Users(context.Background(), "logs.raw", p)
			if err != nil || !ok {
				b.Fatalf("users of partition %d: %v %v", p, ok, err)
			}
			if err := dst.RestoreUsers(cp.HashKey, cp.Users, cp.Commands); err != nil {
				b.Fatal(err)
			}
		}
		loadTook += t1.Sub(t0)
		usersTook += time.Since(t1)
		stop()
		if got := dst.Sizes(); got.Templates != z.Templates || got.Users != z.Users {
			b.Fatalf("loaded %+v, want %+v", got, z)
		}
	}
	b.ReportMetric(float64(bytes)/1e6, "MB")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(saveTook.Seconds(), "s/save")
	b.ReportMetric(loadTook.Seconds()/float64(b.N), "s/load-fleet")
	b.ReportMetric(usersTook.Seconds()/float64(b.N), "s/restore-users")
	b.ReportMetric(float64(z.Templates), "templates")
	b.ReportMetric(float64(z.Users), "users")
}
