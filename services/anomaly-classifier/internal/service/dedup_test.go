package service

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// failedLogin is a protobuf event as log-producer writes it, with its own id.
func failedLogin(t testing.TB, id string, offset int64, sec int) kafkax.Message {
	t.Helper()
	raw := fmt.Sprintf("[24/Nov/2026 09:15:%02d] 10.0.%d.8 bob failed to log in", sec, sec)
	m, err := kafkax.NewProtoMessage("logs.raw", "bob", id, &logwardenpb.LogEvent{Id: id, Raw: raw, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m.Partition, m.Offset = 3, offset
	return m
}

func alertTitles(t testing.TB, outs []kafkax.Message) []string {
	t.Helper()
	var titles []string
	for _, o := range byTopic(outs)["a"] {
		var a logwardenpb.Alert
		if err := proto.Unmarshal(o.Value, &a); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, a.GetTitle())
	}
	return titles
}

// Four failed logins delivered twice (a producer retry: same ids at new offsets, in the
// same batch or a later one) count four times, not eight: no "Brute force on one
// account". The dedup off shows the same input does raise it.
func TestHandleDropsDuplicateEventIDs(t *testing.T) {
	four := func(first int64) []kafkax.Message {
		var b []kafkax.Message
		for i := range 4 {
			b = append(b, failedLogin(t, fmt.Sprintf("01JDDUP00000000000000000%02d", i), first+int64(i), i))
		}
		return b
	}
	cases := []struct {
		name      string
		batches   [][]kafkax.Message
		dedup     int
		wantAlert bool
	}{
		{"retry in a later batch", [][]kafkax.Message{four(0), four(4)}, DefaultDedupEvents, false},
		{"retry in the same batch", [][]kafkax.Message{append(four(0), four(4)...)}, DefaultDedupEvents, false},
		{"dedup off counts eight", [][]kafkax.Message{four(0), four(4)}, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMetrics(nil)
			h := NewHandler(newEngine(t), HandlerOptions{Topics: topics, Metrics: m, DedupEvents: c.dedup})
			var titles []string
			verdicts := 0
			for _, b := range c.batches {
				outs, err := h.Handle(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				titles = append(titles, alertTitles(t, outs)...)
				verdicts += len(byTopic(outs)["v"])
			}
			brute := strings.Contains(strings.Join(titles, ","), "Brute force on one account")
			if brute != c.wantAlert {
				t.Fatalf("brute-force alert %v, want %v (alerts %q)", brute, c.wantAlert, titles)
			}
			if !c.wantAlert {
				if verdicts != 4 {
					t.Errorf("%d verdicts, want 4 (one per event)", verdicts)
				}
				if d := testutil.ToFloat64(m.dups.WithLabelValues("live")); d != 4 {
					t.Errorf("duplicates counted %v, want 4", d)
				}
			}
		})
	}
}

// A partition assigned here is rebuilt from its history; the history itself holds a
// producer retry, and the live stream starts with copies of events the replay already
// counted. Neither copy counts again.
func TestHandleDropsDuplicatesAcrossReplayAndLive(t *testing.T) {
	history := []kafkax.Message{
		failedLogin(t, "01JDREPLAYDUP0000000000001", 0, 1),
		failedLogin(t, "01JDREPLAYDUP0000000000002", 1, 2),
		failedLogin(t, "01JDREPLAYDUP0000000000002", 2, 2), // retried by the producer
		failedLogin(t, "01JDREPLAYDUP0000000000003", 3, 3),
	}
	live := []kafkax.Message{
		failedLogin(t, "01JDREPLAYDUP0000000000003", 4, 3), // the retry landed after the commit point
		failedLogin(t, "01JDREPLAYDUP0000000000001", 5, 1),
		failedLogin(t, "01JDREPLAYDUP0000000000004", 6, 4),
		failedLogin(t, "01JDREPLAYDUP0000000000004", 7, 4),
		failedLogin(t, "01JDREPLAYDUP0000000000005", 8, 5),
	}
	for _, dedup := range []int{DefaultDedupEvents, 0} {
		m := NewMetrics(nil)
		h := NewHandler(newEngine(t), HandlerOptions{Topics: topics, Metrics: m, DedupEvents: dedup, ReplayEvents: 100,
			Replay: func(_ context.Context, _ string, _ int, from, to int64, fn func(kafkax.Message)) (int, error) {
				for _, r := range history[from:to] {
					fn(r)
				}
				return int(to - from), nil
			}})
		outs, err := h.Handle(context.Background(), live)
		if err != nil {
			t.Fatal(err)
		}
		titles := alertTitles(t, outs)
		brute := strings.Contains(strings.Join(titles, ","), "Brute force on one account")
		if dedup == 0 {
			if !brute {
				t.Fatalf("without dedup the 9 copies must raise the brute-force alert (alerts %q): the test proves nothing", titles)
			}
			continue
		}
		if brute {
			t.Fatalf("5 distinct failed logins raised %q", titles)
		}
		if v := len(byTopic(outs)["v"]); v != 2 {
			t.Errorf("%d verdicts, want 2 (events 4 and 5)", v)
		}
		if r, l := testutil.ToFloat64(m.dups.WithLabelValues("replay")), testutil.ToFloat64(m.dups.WithLabelValues("live")); r != 1 || l != 3 {
			t.Errorf("duplicates replay=%v live=%v, want 1 and 3", r, l)
		}
	}
}

// Records without an id of their own are told apart by their position: eight identical
// failed-login lines at eight offsets are eight events (the brute force is real), while
// the same record delivered twice is one.
func TestHandleKeepsIdenticalLinesWithoutIDs(t *testing.T) {
	h := NewHandler(newEngine(t), HandlerOptions{Topics: topics, Metrics: NewMetrics(nil), DedupEvents: DefaultDedupEvents})
	var batch []kafkax.Message
	for i := range 8 {
		batch = append(batch, rec(int64(i), "[24/Nov/2026 09:15:03] 10.0.0.8 bob failed to log in"))
	}
	batch = append(batch, batch[7]) // redelivered
	outs, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if v := len(byTopic(outs)["v"]); v != 8 {
		t.Errorf("%d verdicts, want 8", v)
	}
	if titles := alertTitles(t, outs); !strings.Contains(strings.Join(titles, ","), "Brute force on one account") {
		t.Errorf("eight real failed logins raised %q, want the brute-force alert", titles)
	}
}

// An id is remembered for at least n and at most 2n later ids of its partition, other
// partitions do not push it out, and memory stays at 2n keys per partition.
func TestDedupWindow(t *testing.T) {
	const n = 10
	d := newDedup(n)
	p, q := partition{"t", 0}, partition{"t", 1}
	if d.seen(p, "first") || !d.seen(p, "first") {
		t.Fatal("a new id is seen, or a repeated one is not")
	}
	for i := range 100 {
		d.seen(q, fmt.Sprint("other", i))
	}
	for i := range n - 1 {
		d.seen(p, fmt.Sprint("id", i))
	}
	if !d.seen(p, "first") {
		t.Fatal("forgotten within n ids of its partition")
	}
	for i := range 2 * n {
		d.seen(p, fmt.Sprint("more", i))
	}
	if d.seen(p, "first") {
		t.Fatal("still remembered after 3n ids")
	}
	for _, s := range d.parts {
		if len(s.cur)+len(s.prev) > 2*n {
			t.Fatalf("%d keys kept, want ≤ %d", len(s.cur)+len(s.prev), 2*n)
		}
	}
	if first, again := d.seen(p, ""), d.seen(p, ""); first || again {
		t.Fatal("an empty id counted as a duplicate")
	}
	off := newDedup(0)
	if first, again := off.seen(p, "x"), off.seen(p, "x"); first || again || off != nil {
		t.Fatal("a dedup of size 0 must be off")
	}
}

// BenchmarkDedup is the cost of one lookup-and-remember at steady state (both
// generations full, one rotation per n ids) and the memory per remembered id.
func BenchmarkDedup(b *testing.B) {
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("01JD%022d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := newDedup(DefaultDedupEvents)
	p := partition{"logs.raw", 0}
	for i := range 2 * DefaultDedupEvents {
		d.seen(p, ids[i%len(ids)])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		d.seen(p, ids[i%len(ids)])
		i++
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(2*DefaultDedupEvents), "bytes/id")
	runtime.KeepAlive(d)
}
