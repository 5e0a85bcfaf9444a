package group

import (
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// A group keeps one ref for its message while it is open; a group that closed and
// reopened is a new message with a new ref. Batch.Severity is the highest of the alerts
// it covers for the first time; Current re-renders a posted group in place.
func TestRefsAndCurrent(t *testing.T) {
	g := New[int](cfg())
	n := 0
	g.NewRef = func() string { n++; return string(rune('a' + n - 1)) }
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	g.Add(at(0), alert("1", "fp", "u"), 1)
	if _, ok := g.Current("fingerprint=fp", "a"); ok {
		t.Fatal("Current before the first message")
	}
	b := g.Due(at(10 * time.Second))
	if len(b) != 1 || b[0].Ref != "a" || b[0].Severity != logwardenpb.Severity_SEVERITY_HIGH {
		t.Fatalf("first batch %+v", b)
	}
	low := alert("2", "fp", "u")
	low.Severity = logwardenpb.Severity_SEVERITY_LOW
	g.Add(at(20*time.Second), low, 2)
	b = g.Due(at(70 * time.Second))
	if len(b) != 1 || b[0].Ref != "a" || b[0].Seq != 1 || b[0].Severity != logwardenpb.Severity_SEVERITY_LOW {
		t.Fatalf("follow-up %+v", b)
	}
	cur, ok := g.Current("fingerprint=fp", "a")
	if !ok || !cur.Update || cur.Count != 2 || cur.New != 0 || cur.Ref != "a" {
		t.Fatalf("Current = %+v, %v", cur, ok)
	}
	if _, ok := g.Current("fingerprint=fp", "other"); ok {
		t.Fatal("Current of another message's ref")
	}
	// Quiet for repeat_interval: the next alert opens a new message.
	g.Add(at(5*time.Hour), alert("3", "fp", "u"), 3)
	b = g.Due(at(5*time.Hour + 10*time.Second))
	if len(b) != 1 || b[0].Ref != "b" || b[0].Seq != 0 {
		t.Fatalf("reopened group %+v", b)
	}
	if _, ok := g.Current("fingerprint=fp", "a"); ok {
		t.Fatal("the closed message's ref still current")
	}
	if len(New[int](cfg()).newRef()) != 24 {
		t.Fatal("default ref is not 12 bytes in hex")
	}
}
