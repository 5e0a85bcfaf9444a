package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
)

var topics = Topics{Verdicts: "v", Alerts: "a"}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rec(offset int64, value string) kafkax.Message {
	return kafkax.Message{Topic: "logs.raw", Partition: 1, Offset: offset, Value: []byte(value),
		Time: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
}

func byTopic(outs []kafkax.Message) map[string][]kafkax.Message {
	m := map[string][]kafkax.Message{}
	for _, o := range outs {
		m[o.Topic] = append(m[o.Topic], o)
	}
	return m
}

func TestHandle(t *testing.T) {
	shadow := "[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file '/etc/shadow'"
	login := "[24/Nov/2026 09:15:03] 10.0.0.8 bob logged in successfully"
	cases := []struct {
		name                          string
		topics                        Topics
		batch                         []kafkax.Message
		verdicts, alerts, deadLetters int
		alertKeys                     []string
	}{
		{"alert keyed by entity", topics, []kafkax.Message{rec(1, shadow)}, 1, 1, 0, []string{"alice"}},
		{"normal line", topics, []kafkax.Message{rec(1, login)}, 1, 0, 0, nil},
		{"verdicts off", Topics{Verdicts: "v", VerdictsMode: VerdictsOff, Alerts: "a"}, []kafkax.Message{rec(1, shadow), rec(2, login)}, 0, 1, 0, []string{"alice"}},
		{"verdicts of anomalous events", Topics{Verdicts: "v", VerdictsMode: VerdictsAnomalous, Alerts: "a"}, []kafkax.Message{rec(1, shadow), rec(2, login)}, 1, 1, 0, []string{"alice"}},
		{"verdicts by reference", Topics{Verdicts: "v", VerdictEvent: VerdictEventRef, Alerts: "a"}, []kafkax.Message{rec(1, shadow), rec(2, login)}, 2, 1, 0, []string{"alice"}},
		{"garbage to DLQ, rest goes on", topics, []kafkax.Message{rec(1, "\x00\x01\x02"), rec(2, ""), rec(3, login)}, 1, 0, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHandler(newEngine(t), HandlerOptions{Topics: c.topics, Metrics: NewMetrics(nil)})
			outs, err := h.Handle(context.Background(), c.batch)
			if err != nil {
				t.Fatal(err)
			}
			got := byTopic(outs)
			if len(got["v"]) != c.verdicts || len(got["a"]) != c.alerts || len(got[kafkax.DLQTopic("logs.raw")]) != c.deadLetters {
				t.Fatalf("verdicts %d alerts %d dead letters %d, want %d %d %d",
					len(got["v"]), len(got["a"]), len(got[kafkax.DLQTopic("logs.raw")]), c.verdicts, c.alerts, c.deadLetters)
			}
			for i, k := range c.alertKeys {
				if string(got["a"][i].Key) != k {
					t.Errorf("alert %d keyed %q, want %q", i, got["a"][i].Key, k)
				}
			}
		})
	}
}

// TestVerdictModes: what each mode writes for an anomalous and a normal event, and that a
// verdict by reference names the record it judged instead of copying the event.
func TestVerdictModes(t *testing.T) {
	shadow := rec(41, "[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file '/etc/shadow'")
	login := rec(42, "[24/Nov/2026 09:15:03] 10.0.0.8 bob logged in successfully")
	for _, c := range []struct {
		mode, event string
		anomalous   []bool // the verdicts written, in order
	}{
		{VerdictsAll, VerdictEventFull, []bool{true, false}},
		{"", "", []bool{true, false}},
		{VerdictsAnomalous, VerdictEventFull, []bool{true}},
		{VerdictsAll, VerdictEventRef, []bool{true, false}},
		{VerdictsAnomalous, VerdictEventRef, []bool{true}},
		{VerdictsOff, VerdictEventFull, nil},
	} {
		t.Run(c.mode+"/"+c.event, func(t *testing.T) {
			tp := Topics{Verdicts: "v", VerdictsMode: c.mode, VerdictEvent: c.event, Alerts: "a"}
			outs, err := NewHandler(newEngine(t), HandlerOptions{Topics: tp}).Handle(context.Background(), []kafkax.Message{shadow, login})
			if err != nil {
				t.Fatal(err)
			}
			vs := byTopic(outs)["v"]
			if len(vs) != len(c.anomalous) {
				t.Fatalf("%d verdicts, want %d", len(vs), len(c.anomalous))
			}
			for i, m := range vs {
				var v logwardenpb.Verdict
				if err := proto.Unmarshal(m.Value, &v); err != nil {
					t.Fatal(err)
				}
				if v.GetAnomalous() != c.anomalous[i] {
					t.Errorf("verdict %d anomalous = %v", i, v.GetAnomalous())
				}
				id := m.Header(kafkax.HeaderEventID)
				if c.event == VerdictEventRef {
					want := []kafkax.Message{shadow, login}[i]
					r := v.GetEventRef()
					if v.GetEvent() != nil || r.GetTopic() != want.Topic || int(r.GetPartition()) != want.Partition || r.GetOffset() != want.Offset || r.GetId() != id || id == "" {
						t.Errorf("verdict %d: event %v, ref %v (id header %q), want a reference to %s", i, v.GetEvent(), r, id, want)
					}
					continue
				}
				if v.GetEvent().GetId() != id || v.GetEventRef() != nil || v.GetEvent().GetRaw() == "" {
					t.Errorf("verdict %d: event %v, ref %v, want the event copied", i, v.GetEvent(), v.GetEventRef())
				}
			}
		})
	}
}

// TestSlimVerdictKeepsEveryFieldButTheEvent fills every field of Verdict: a field added
// to the proto and not copied by slimVerdict fails here.
func TestSlimVerdictKeepsEveryFieldButTheEvent(t *testing.T) {
	v := &logwardenpb.Verdict{}
	r := v.ProtoReflect()
	fields := r.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsList():
			l := r.Mutable(fd).List()
			l.Append(l.NewElement())
		case fd.Message() != nil:
			r.Mutable(fd)
		case fd.Kind() == protoreflect.BoolKind:
			r.Set(fd, protoreflect.ValueOfBool(true))
		case fd.Kind() == protoreflect.DoubleKind:
			r.Set(fd, protoreflect.ValueOfFloat64(0.5))
		case fd.Kind() == protoreflect.EnumKind:
			r.Set(fd, protoreflect.ValueOfEnum(1))
		case fd.Kind() == protoreflect.StringKind:
			r.Set(fd, protoreflect.ValueOfString("x"))
		default:
			t.Fatalf("field %s is of a kind this test does not fill: add it", fd.Name())
		}
	}
	want := proto.Clone(v).(*logwardenpb.Verdict)
	want.Event = nil
	if got := slimVerdict(v); !proto.Equal(got, want) {
		t.Fatalf("slimVerdict = %v, want %v", got, want)
	}
	if v.Event == nil {
		t.Fatal("slimVerdict changed its argument")
	}
}

// A redelivered batch (fresh engine, as after a restart) yields the same ids.
func TestHandleDeterministic(t *testing.T) {
	batch := []kafkax.Message{rec(7, "[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file '/etc/shadow'")}
	ids := func() []string {
		outs, err := NewHandler(newEngine(t), HandlerOptions{Topics: topics}).Handle(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range outs {
			s = append(s, m.Header(kafkax.HeaderEventID))
		}
		return s
	}
	a, b := ids(), ids()
	if strings.Join(a, ",") != strings.Join(b, ",") || len(a) != 2 {
		t.Fatalf("ids %v then %v", a, b)
	}
}

// fakeStage answers every considered verdict with a scripted opinion.
type fakeStage struct {
	ch      chan llm.Opinion
	opinion func(v *logwardenpb.Verdict) (llm.Opinion, bool)
}

func (f *fakeStage) Consider(v *logwardenpb.Verdict, _ bool) llm.Decision {
	o, ok := f.opinion(v)
	if !ok {
		return llm.Skipped
	}
	o.Verdict = proto.Clone(v).(*logwardenpb.Verdict)
	o.EventID = v.GetEvent().GetId()
	f.ch <- o
	return llm.Queued
}
func (f *fakeStage) Results() <-chan llm.Opinion { return f.ch }

func TestOpinions(t *testing.T) {
	anomalous := func(v *logwardenpb.Verdict) (llm.Opinion, bool) {
		return llm.Opinion{Anomalous: true, Severity: logwardenpb.Severity_SEVERITY_HIGH, Score: 0.9,
			Findings: []*logwardenpb.Finding{{Detector: llm.Detector, RuleId: llm.RuleID, Reason: "reads keys", Severity: logwardenpb.Severity_SEVERITY_HIGH}}}, true
	}
	degraded := func(*logwardenpb.Verdict) (llm.Opinion, bool) { return llm.Opinion{Degraded: true}, true }
	normal := func(*logwardenpb.Verdict) (llm.Opinion, bool) { return llm.Opinion{}, true }
	cases := []struct {
		name           string
		opinion        func(*logwardenpb.Verdict) (llm.Opinion, bool)
		verdicts       int
		alerts         int
		wantDegraded   bool
		wantLLMFinding bool
	}{
		{"anomalous opinion: upgraded verdict and an llm alert", anomalous, 2, 1, false, true},
		{"failed call: degraded verdict, no alert", degraded, 2, 0, true, false},
		{"normal opinion: nothing to republish", normal, 1, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := NewHandler(newEngine(t), HandlerOptions{Topics: topics, Stage: &fakeStage{ch: make(chan llm.Opinion, 4), opinion: c.opinion}, Metrics: NewMetrics(reg)})
			outs, err := h.Handle(context.Background(), []kafkax.Message{rec(1, "[24/Nov/2026 09:15:03] 10.0.0.8 bob logged in successfully")})
			if err != nil {
				t.Fatal(err)
			}
			got := byTopic(outs)
			if len(got["v"]) != c.verdicts || len(got["a"]) != c.alerts {
				t.Fatalf("verdicts %d alerts %d, want %d %d", len(got["v"]), len(got["a"]), c.verdicts, c.alerts)
			}
			last := &logwardenpb.Verdict{}
			if err := proto.Unmarshal(got["v"][len(got["v"])-1].Value, last); err != nil {
				t.Fatal(err)
			}
			hasLLM := false
			for _, f := range last.GetFindings() {
				hasLLM = hasLLM || f.GetDetector() == llm.Detector
			}
			if last.GetDegraded() != c.wantDegraded || hasLLM != c.wantLLMFinding {
				t.Errorf("last verdict degraded=%v llm finding=%v", last.GetDegraded(), hasLLM)
			}
			if c.alerts > 0 {
				a := &logwardenpb.Alert{}
				if err := proto.Unmarshal(got["a"][0].Value, a); err != nil {
					t.Fatal(err)
				}
				if a.GetFingerprint() != "llm:bob" || string(got["a"][0].Key) != "bob" || a.GetSummary() != "reads keys" {
					t.Errorf("alert %v key %q", a, got["a"][0].Key)
				}
				if n := testutil.ToFloat64(h.metrics.anomalies.WithLabelValues("llm", "SEVERITY_HIGH")); n != 1 {
					t.Errorf("llm anomalies metric %v, want 1", n)
				}
			}
			if n := testutil.ToFloat64(h.metrics.events); n != 1 {
				t.Errorf("events classified %v, want 1", n)
			}
		})
	}
}

type countingEngine struct {
	Classifier
	reloads int
	err     error
}

func (c *countingEngine) ReloadRules() error { c.reloads++; return c.err }

func TestWatchRules(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(file, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal)
	reloaded := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	calls := 0
	go func() {
		done <- watchRules(ctx, file, time.Millisecond, hup, func() error {
			calls++
			reloaded <- struct{}{}
			return errors.New("bad rule file") // logged, the watcher goes on
		}, zap.NewNop())
	}()
	hup <- os.Interrupt
	<-reloaded
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	<-reloaded // the mtime change
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("%d reloads, want 2", calls)
	}
}

func TestReloadUsesEngine(t *testing.T) {
	e := &countingEngine{}
	h := NewHandler(e, HandlerOptions{Topics: topics})
	if err := h.Reload(); err != nil || e.reloads != 1 {
		t.Fatalf("Reload: %v, %d calls", err, e.reloads)
	}
}

func ExampleOpinionAlert() {
	v := &logwardenpb.Verdict{Event: &logwardenpb.LogEvent{Id: "E1", User: "alice"}}
	a := OpinionAlert(v, llm.Opinion{Anomalous: true, Severity: logwardenpb.Severity_SEVERITY_MEDIUM})
	fmt.Println(a.GetId(), a.GetFingerprint(), a.GetEntity(), a.GetSeverity())
	// Output: llm-E1 llm:alice alice SEVERITY_MEDIUM
}

type adoptRecorder struct {
	*engine.Engine
	adopted map[string]bool
}

func (a *adoptRecorder) Adopt(ev *logwardenpb.LogEvent) {
	a.adopted[ev.GetUser()] = true
	a.Engine.Adopt(ev)
}

// Partitions present from the start are this instance's own; a partition that first shows
// up after AdoptAfter events was moved here by a rebalance, and its users are adopted.
func TestHandleAdoptsUsersOfPartitionsAssignedMidStream(t *testing.T) {
	eng := &adoptRecorder{Engine: newEngine(t), adopted: map[string]bool{}}
	h := NewHandler(eng, HandlerOptions{Topics: topics, Metrics: NewMetrics(nil), AdoptAfter: 3})
	line := func(user string) string {
		return fmt.Sprintf("[24/Nov/2026 09:15:03] 10.0.0.8 %s logged in successfully", user)
	}
	at := func(part int, off int64, user string) kafkax.Message {
		m := rec(off, line(user))
		m.Partition = part
		return m
	}
	batches := [][]kafkax.Message{
		{at(0, 1, "ann"), at(1, 1, "bob")},
		{at(0, 2, "ann"), at(2, 1, "cy")}, // partition 2 at event 4: moved here
		{at(1, 2, "bob"), at(2, 2, "dee")},
	}
	for _, b := range batches {
		if _, err := h.Handle(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{"cy": true, "dee": true}
	if len(eng.adopted) != len(want) || !eng.adopted["cy"] || !eng.adopted["dee"] {
		t.Fatalf("adopted %v, want %v", eng.adopted, want)
	}
}

// The first message of a partition new to this instance rebuilds the partition's state
// from its history: two sensitive reads before the takeover and one after make a burst.
// History outputs are not republished. Without a replay the burst is not seen.
func TestHandleReplaysPartitionHistory(t *testing.T) {
	read := func(off int64, file string) kafkax.Message {
		m := rec(off, fmt.Sprintf("[24/Nov/2026 09:15:%02d] 10.0.0.7 alice accessed file '%s'", off, file))
		m.Partition = 4
		return m
	}
	history := []kafkax.Message{read(40, "/etc/shadow"), read(41, "/root/.ssh/id_rsa")}
	for _, replay := range []bool{true, false} {
		o := HandlerOptions{Topics: topics, Metrics: NewMetrics(nil)}
		var asked [2]int64
		if replay {
			o.ReplayEvents = 100
			o.Replay = func(_ context.Context, topic string, part int, from, to int64, fn func(kafkax.Message)) (int, error) {
				if topic != "logs.raw" || part != 4 {
					t.Errorf("replay of %s/%d", topic, part)
				}
				asked = [2]int64{from, to}
				for _, m := range history {
					fn(m)
				}
				return len(history), nil
			}
		}
		h := NewHandler(newEngine(t), o)
		outs, err := h.Handle(context.Background(), []kafkax.Message{read(42, "/home/alice/.aws/credentials")})
		if err != nil {
			t.Fatal(err)
		}
		got := byTopic(outs)
		if len(got["v"]) != 1 {
			t.Fatalf("replay=%v: %d verdicts, want 1 (history is not republished)", replay, len(got["v"]))
		}
		burst := false
		for _, a := range got["a"] {
			var al logwardenpb.Alert
			if err := proto.Unmarshal(a.Value, &al); err != nil {
				t.Fatal(err)
			}
			burst = burst || strings.Contains(al.GetFingerprint(), "sensitive-file-burst")
		}
		if burst != replay {
			t.Errorf("replay=%v: burst alert %v", replay, burst)
		}
		if replay && asked != [2]int64{0, 42} {
			t.Errorf("replay asked for [%d, %d), want [0, 42)", asked[0], asked[1])
		}
	}
}

// A partition that comes back after other members handled part of it (its offsets jump)
// has the gap replayed: only the missed messages, and their state counts.
func TestHandleReplaysTheGapWhenAPartitionComesBack(t *testing.T) {
	read := func(off int64, file string) kafkax.Message {
		m := rec(off, fmt.Sprintf("[24/Nov/2026 09:15:%02d] 10.0.0.7 alice accessed file '%s'", off, file))
		m.Partition = 2
		return m
	}
	var asked [][2]int64
	h := NewHandler(newEngine(t), HandlerOptions{Topics: topics, Metrics: NewMetrics(nil), ReplayEvents: 1000,
		Replay: func(_ context.Context, _ string, _ int, from, to int64, fn func(kafkax.Message)) (int, error) {
			asked = append(asked, [2]int64{from, to})
			if from == 11 && to == 20 {
				fn(read(15, "/root/.ssh/id_rsa"))
				return 1, nil
			}
			return 0, nil
		}})
	handle := func(m kafkax.Message) map[string][]kafkax.Message {
		outs, err := h.Handle(context.Background(), []kafkax.Message{m})
		if err != nil {
			t.Fatal(err)
		}
		return byTopic(outs)
	}
	handle(read(10, "/etc/shadow"))
	got := handle(read(20, "/home/alice/.aws/credentials"))
	if want := [][2]int64{{0, 10}, {11, 20}}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("replays asked %v, want %v", asked, want)
	}
	burst := false
	for _, a := range got["a"] {
		var al logwardenpb.Alert
		if err := proto.Unmarshal(a.Value, &al); err != nil {
			t.Fatal(err)
		}
		burst = burst || strings.Contains(al.GetFingerprint(), "sensitive-file-burst")
	}
	if !burst {
		t.Fatal("no burst alert: the replayed gap did not count")
	}
}
