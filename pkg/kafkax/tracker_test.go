package kafkax

import (
	"testing"
)

func msgAt(part int, off int64) Message { return Message{Topic: "t", Partition: part, Offset: off} }

func committedNext(tr *tracker) map[int]int64 {
	out := map[int]int64{}
	for _, m := range tr.committable() {
		out[m.Partition] = m.Offset + 1
	}
	return out
}

func TestTrackerCommitsOnlyBelowLowestInFlight(t *testing.T) {
	tests := []struct {
		name  string
		fetch []int64
		ack   []int64
		want  int64 // next offset to commit; -1: nothing to commit
	}{
		{"nothing acked", []int64{0, 1, 2}, nil, -1},
		{"in order", []int64{0, 1, 2}, []int64{0, 1}, 2},
		{"all acked", []int64{0, 1, 2}, []int64{0, 1, 2}, 3},
		{"gap holds back", []int64{0, 1, 2, 3}, []int64{0, 2, 3}, 1},
		{"head missing holds all", []int64{5, 6, 7}, []int64{6, 7}, -1},
		{"out of order completes", []int64{5, 6, 7}, []int64{7, 6, 5}, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker()
			for _, o := range tc.fetch {
				tr.add(msgAt(0, o))
			}
			for _, o := range tc.ack {
				tr.done(msgAt(0, o))
			}
			got, ok := committedNext(tr)[0]
			if tc.want < 0 {
				if ok {
					t.Fatalf("committable = %d, want nothing", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("next offset to commit = %d, want %d", got, tc.want)
			}
			if n, want := tr.inFlight(), len(tc.fetch)-len(tc.ack); n != want {
				t.Fatalf("in flight = %d, want %d", n, want)
			}
		})
	}
}

func TestTrackerPartitionsAreIndependentAndCommitsDoNotRepeat(t *testing.T) {
	tr := newTracker()
	for _, o := range []int64{10, 11} {
		tr.add(msgAt(0, o))
		tr.add(msgAt(1, o))
	}
	tr.done(msgAt(1, 10))
	tr.done(msgAt(1, 11))
	got := committedNext(tr)
	if _, ok := got[0]; ok || got[1] != 12 {
		t.Fatalf("committable = %v, want only partition 1 at 12", got)
	}
	tr.committed(tr.committable())
	if again := tr.committable(); len(again) != 0 {
		t.Fatalf("committable after commit = %v, want none", again)
	}
}

func TestTrackerRewoundPartitionNeverCommitsBackwards(t *testing.T) {
	tr := newTracker()
	for o := int64(0); o < 5; o++ {
		tr.add(msgAt(0, o))
		tr.done(msgAt(0, o))
	}
	tr.committed(tr.committable()) // committed next = 5
	// The partition is reassigned and rewinds to offset 3 (redelivery).
	tr.add(msgAt(0, 3))
	if c := tr.committable(); len(c) != 0 {
		t.Fatalf("committable while a rewound message is in flight = %v, want none (would move backwards)", c)
	}
	tr.done(msgAt(0, 3))
	tr.add(msgAt(0, 5))
	tr.done(msgAt(0, 5))
	if got := committedNext(tr)[0]; got != 6 {
		t.Fatalf("next offset = %d, want 6", got)
	}
}

func BenchmarkTracker(b *testing.B) {
	b.ReportAllocs()
	tr := newTracker()
	for i := 0; i < b.N; i++ {
		m := msgAt(i%6, int64(i))
		tr.add(m)
		tr.done(m)
	}
}
