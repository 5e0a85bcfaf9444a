package stats

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// train feeds days of 09:00–17:00 activity from one address.
func train(b *Baselines, user string, days int) time.Time {
	t := t0
	for d := 0; d < days; d++ {
		for m := 0; m < 8*60; m += 5 {
			at := t0.Add(time.Duration(d)*24*time.Hour + time.Duration(m)*time.Minute)
			ev := &logwardenpb.LogEvent{User: user, Ip: "10.10.1.2", Action: "command", Target: "ls -la"}
			if f := b.Observe(ev, at, false, nil); len(f) != 0 {
				panic(fmt.Sprintf("training produced %v", f))
			}
			t = at
		}
	}
	return t
}

func ids(fs []*logwardenpb.Finding) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f.RuleId] = true
	}
	return m
}

func TestBaselines(t *testing.T) {
	tests := []struct {
		name string
		ev   *logwardenpb.LogEvent
		at   time.Duration // after the last training day's 09:00
		want []string
	}{
		{"usual", &logwardenpb.LogEvent{User: "bob", Ip: "10.10.1.2", Action: "command", Target: "ls -la"}, 2 * time.Hour, nil},
		{"new address", &logwardenpb.LogEvent{User: "bob", Ip: "185.220.1.1", Action: "login"}, 2 * time.Hour, []string{"stats.new-network"}},
		{"off hours", &logwardenpb.LogEvent{User: "bob", Ip: "10.10.1.2", Action: "login"}, 15 * time.Hour, []string{"stats.off-hours"}},
		{"new directory", &logwardenpb.LogEvent{User: "bob", Ip: "10.10.1.2", Action: "dir_access", Target: "/srv/backups"}, 2 * time.Hour, []string{"stats.first-seen-directory"}},
		{"new command is novelty.Commands' job", &logwardenpb.LogEvent{User: "bob", Ip: "10.10.1.2", Action: "command", Target: "make test"}, 2 * time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(DefaultConfig(), nil)
			train(b, "bob", 3)
			got := ids(b.Observe(tt.ev, t0.Add(3*24*time.Hour+tt.at), false, nil))
			if len(got) != len(tt.want) {
				t.Fatalf("findings %v, want %v", got, tt.want)
			}
			for _, w := range tt.want {
				if !got[w] {
					t.Fatalf("findings %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestWarmupQuiet(t *testing.T) {
	b := New(DefaultConfig(), nil)
	// a cold user: new address, new commands, any hour: nothing until warm
	for i := 0; i < 5; i++ {
		ev := &logwardenpb.LogEvent{User: "new", Ip: fmt.Sprintf("10.10.1.%d", i), Action: "command", Target: fmt.Sprintf("cmd %d", i)}
		if f := b.Observe(ev, t0.Add(time.Duration(i)*time.Minute), false, nil); len(f) != 0 {
			t.Fatalf("cold user reported %v", f)
		}
	}
}

func TestSuspiciousAddressNotLearnt(t *testing.T) {
	b := New(DefaultConfig(), nil)
	last := train(b, "bob", 3)
	ev := &logwardenpb.LogEvent{User: "bob", Ip: "185.220.1.1", Action: "login_failed"}
	for i := 0; i < 3; i++ {
		f := b.Observe(ev, last.Add(time.Duration(i)*time.Second), true, nil)
		if !ids(f)["stats.new-network"] {
			t.Fatalf("attempt %d: findings %v, want a new network each time", i, ids(f))
		}
	}
}

func TestEntitiesBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxEntities = 10
	b := New(cfg, nil)
	for i := 0; i < 100; i++ {
		b.Observe(&logwardenpb.LogEvent{User: fmt.Sprintf("u%d", i), Ip: "10.0.0.1", Action: "login"}, t0, false, nil)
	}
	if b.Len() != 10 {
		t.Fatalf("entities %d, want 10", b.Len())
	}
}

// BenchmarkBytesPerEntity reports the heap held per user with a typical
// baseline (3 addresses, 10 commands, 5 directories, 2 actions).
func BenchmarkBytesPerEntity(b *testing.B) {
	const users = 2000
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		bl := New(DefaultConfig(), nil)
		for u := 0; u < users; u++ {
			user := fmt.Sprintf("user%04d", u)
			for k := 0; k < 10; k++ {
				bl.Observe(&logwardenpb.LogEvent{User: user, Ip: fmt.Sprintf("10.%d.0.%d", u%200, k%3), Action: "command", Target: fmt.Sprintf("cmd %d", k)}, t0, false, nil)
				if k < 5 {
					bl.Observe(&logwardenpb.LogEvent{User: user, Ip: "10.0.0.1", Action: "dir_access", Target: fmt.Sprintf("/d/%d", k)}, t0, false, nil)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/users, "bytes/entity")
		runtime.KeepAlive(bl)
	}
}

func TestRateSpike(t *testing.T) {
	b := New(DefaultConfig(), nil)
	last := train(b, "bob", 3) // 2 commands per 10 minutes
	var got map[string]bool
	spikes := 0
	for i := 0; i < 30; i++ {
		got = ids(b.Observe(&logwardenpb.LogEvent{User: "bob", Ip: "10.10.1.2", Action: "command", Target: "ls -la"}, last.Add(time.Duration(i)*10*time.Second), false, nil))
		if got["stats.rate-spike"] {
			spikes++
		}
	}
	if spikes != 1 { // reported once per 10-minute bucket
		t.Fatalf("rate spikes reported %d times, want 1", spikes)
	}
}

// A user new to this instance (new, or its history lost with a restart) is cold: its
// usual network is new to this instance but is not reported until the user has a little
// history here. A foreign network after that still is.
func TestNewUserLearnsItsNetworkFirst(t *testing.T) {
	b := New(DefaultConfig(), nil)
	train(b, "bob", 11)                          // past the global warm-up (1,056 events); 10.10/16 is known
	at := t0.Add(11*24*time.Hour + 12*time.Hour) // 21:00, a night worker's shift
	for i := 0; i < 60; i++ {                    // 21:00–01:55 from a network only this user uses
		ev := &logwardenpb.LogEvent{User: "nina", Ip: "172.20.3.4", Action: "command", Target: "ls -la"}
		if f := b.Observe(ev, at.Add(time.Duration(i)*5*time.Minute), false, nil); len(f) != 0 {
			t.Fatalf("event %d of the adopted user: findings %v, want none", i, ids(f))
		}
	}
	far := &logwardenpb.LogEvent{User: "nina", Ip: "185.220.1.1", Action: "login"}
	if got := ids(b.Observe(far, at.Add(5*time.Hour), false, nil)); !got["stats.new-network"] {
		t.Fatalf("foreign network after some history: findings %v, want stats.new-network", got)
	}
}

// An adopted user (its partition moved here mid-stream) gets no early off-hours check:
// having seen it only from 15:00 says nothing about 09:00 the next day. A user that is
// merely new still gets it.
func TestAdoptedUserSkipsEarlyChecks(t *testing.T) {
	for _, adopted := range []bool{true, false} {
		b := New(DefaultConfig(), nil)
		train(b, "bob", 11)
		if adopted {
			b.Adopt("nina")
		}
		at := t0.Add(11*24*time.Hour + 6*time.Hour) // 15:00
		for i := 0; i < 24; i++ {                   // 15:00–16:55
			ev := &logwardenpb.LogEvent{User: "nina", Ip: "10.10.1.9", Action: "command", Target: "ls -la"}
			if f := b.Observe(ev, at.Add(time.Duration(i)*5*time.Minute), false, nil); len(f) != 0 {
				t.Fatalf("adopted=%v: event %d: findings %v, want none", adopted, i, ids(f))
			}
		}
		morning := &logwardenpb.LogEvent{User: "nina", Ip: "10.10.1.9", Action: "login"}
		got := ids(b.Observe(morning, at.Add(18*time.Hour), false, nil)) // 09:00 next day
		if got["stats.off-hours"] == adopted {
			t.Errorf("adopted=%v: findings at 09:00 %v; want off-hours only for a user that is not adopted", adopted, got)
		}
	}
}
