package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// held counts the events a rule's windows hold and how many of them keep their LogEvent.
func held(w *Windows, id string) (entries, events int) {
	for _, win := range w.byRule[id] {
		for _, e := range win.entries {
			entries++
			if e.ev != nil {
				events++
			}
		}
	}
	return entries, events
}

// One event dated 9999 used to stay at the front of the window, so every later
// event was kept: memory grew with the stream and the rule saw a window that never slid.
func TestWindowsFarFutureEventDoesNotPin(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := rule(t, set, "brute-force-ip")
	w := NewWindows(100)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	w.Observe(r, "203.0.113.9", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "", ev("login_failed", "", "root", "203.0.113.9"))
	big := strings.Repeat("x", 30<<10)
	for i := 0; i < 3000; i++ {
		at := t0.Add(time.Duration(i) * time.Minute) // one failure a minute: never 5 in 3m
		h := w.Observe(r, "203.0.113.9", at, "", &logwardenpb.LogEvent{Action: "login_failed", Raw: big})
		if h.Fired {
			t.Fatalf("event %d: fired with %d events in the window", i, h.Count)
		}
	}
	entries, events := held(w, r.ID)
	if entries > 4 || events > MaxEvidence {
		t.Fatalf("after 3,000 events a minute apart the window holds %d entries, %d events (want ≤ 4, ≤ %d)", entries, events, MaxEvidence)
	}
}

func TestWindowsBounded(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := rule(t, set, "brute-force-ip") // count 5: cap max(20, 64)
	w := NewWindows(100)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ { // a storm inside one window
		w.Observe(r, "203.0.113.9", t0.Add(time.Duration(i)*time.Millisecond), "", ev("login_failed", "", "root", "203.0.113.9"))
	}
	entries, events := held(w, r.ID)
	if entries != 64 || events != MaxEvidence {
		t.Fatalf("window holds %d entries, %d events; want 64, %d", entries, events, MaxEvidence)
	}
}

func TestWindowsOutOfOrder(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := rule(t, set, "brute-force-ip") // 5 within 3m
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		at    []time.Duration
		count int // of the last observation
		fired bool
	}{
		{"in order", []time.Duration{0, 10, 20, 30, 40}, 5, true},
		{"late inside the window counts", []time.Duration{0, 40, 30, 20, 10}, 5, true},
		{"late beyond the window restarts it", []time.Duration{600, 610, 620, 630, 0}, 1, false},
		{"far future does not stick", []time.Duration{1 << 40, 0, 10, 20, 30}, 4, false},
		{"spread wider than the window", []time.Duration{0, 60, 120, 180, 240}, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWindows(10)
			var h Hit
			for _, s := range tt.at {
				h = w.Observe(r, "k", t0.Add(s*time.Second), "", ev("login_failed", "", "u", "k"))
			}
			if h.Count != tt.count || h.Fired != tt.fired {
				t.Fatalf("count %d fired %v, want %d %v", h.Count, h.Fired, tt.count, tt.fired)
			}
		})
	}
}

func TestWindowsDistinctValuesClipped(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	r := rule(t, set, "mass-file-access") // 25 distinct targets within 2m
	w := NewWindows(10)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	long := strings.Repeat("a", 10000)
	var h Hit
	for i := 0; i < 25; i++ {
		v := long + string(rune('A'+i)) // distinct only after 10,000 bytes
		h = w.Observe(r, "bob", t0.Add(time.Duration(i)*time.Second), v, ev("file_access", v, "bob", ""))
	}
	if !h.Fired || h.Count != 25 {
		t.Fatalf("count %d fired %v, want 25 distinct", h.Count, h.Fired)
	}
	for _, v := range h.Values {
		if len(v) > maxShown {
			t.Fatalf("value of %d bytes kept for the reason", len(v))
		}
	}
}
