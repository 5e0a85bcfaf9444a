package event

import (
	"bytes"
	"sort"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func TestEntityKey(t *testing.T) {
	tests := []struct {
		name string
		ev   *logwardenpb.LogEvent
		want string
	}{
		{"user wins", &logwardenpb.LogEvent{User: "alice", Host: "web1", Source: "stdin"}, "alice"},
		{"host without user", &logwardenpb.LogEvent{Host: "web1", Source: "stdin"}, "web1"},
		{"source last", &logwardenpb.LogEvent{Source: "file:/var/log/x"}, "file:/var/log/x"},
		{"empty", &logwardenpb.LogEvent{}, ""},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EntityKey(tt.ev); got != tt.want {
				t.Fatalf("EntityKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewIDFromIsDeterministicAndSortsByTime(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := NewIDFrom(t0, bytes.NewReader(bytes.Repeat([]byte{0xAB}, 10)))
	b := NewIDFrom(t0, bytes.NewReader(bytes.Repeat([]byte{0xAB}, 10)))
	if a != b || len(a) != IDLen {
		t.Fatalf("ids %q %q: want equal, %d chars", a, b, IDLen)
	}
	ids := []string{
		NewIDFrom(t0.Add(2*time.Millisecond), bytes.NewReader(make([]byte, 10))),
		NewIDFrom(t0, bytes.NewReader(bytes.Repeat([]byte{0xFF}, 10))),
		NewIDFrom(t0.Add(time.Millisecond), bytes.NewReader(make([]byte, 10))),
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	if sorted[0] != ids[1] || sorted[1] != ids[2] || sorted[2] != ids[0] {
		t.Fatalf("ids do not sort by time: %v", sorted)
	}
	// 2026-01-02T03:04:05Z = 1767323045000 ms; the all-zero entropy part is 16 zeros.
	if got := NewIDFrom(t0, bytes.NewReader(make([]byte, 10))); got[10:] != "0000000000000000" {
		t.Fatalf("random part of zero entropy = %q", got[10:])
	}
}

func TestNewIDIsUnique(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for i := 0; i < 10000; i++ {
		id := NewID()
		if seen[id] {
			t.Fatalf("duplicate id %q after %d ids", id, i)
		}
		seen[id] = true
		for _, c := range id {
			if !bytes.ContainsRune([]byte(crockford), c) {
				t.Fatalf("id %q has %q outside the alphabet", id, c)
			}
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewID()
	}
}
