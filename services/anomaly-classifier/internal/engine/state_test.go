package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/state"
)

var words = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber basalt cobalt dune ember flint garnet harbor iris jade kestrel lagoon marble nectar")

// kind is the i-th of many distinct kinds of line: its words differ from every
// other kind's in most positions, so the miner keeps each apart.
func kind(i int) string {
	w := func(n int) string {
		return string([]byte{byte('a' + n%26), byte('a' + n/26%26), byte('a' + n/676%26), byte('a' + n/17576%26)})
	}
	return fmt.Sprintf("ERROR %s %s %s %s %s", w(i), w(i*7+1), w(i*13+2), w(i*17+3), strings.Join(words[:1+i%4], " "))
}

// learn runs lines through a fresh engine and returns it.
func learn(t testing.TB, cfg Config, lines []string) *Engine {
	t.Helper()
	eng, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	for i, l := range lines {
		eng.Process(line2(p, l, fmt.Sprint("l", i)))
	}
	return eng
}

func line2(p *logparse.Parser, s, id string) *logwardenpb.LogEvent {
	ev := &logwardenpb.LogEvent{Id: id}
	p.Parse(s, ev)
	return ev
}

func TestStateRoundTrip(t *testing.T) {
	var good []string
	for i := 0; i < 300; i++ {
		good = append(good, fmt.Sprintf("2026-01-05 10:%02d:%02d,000 INFO [main] heartbeat %d", i/60, i%60, i))
		if i%50 == 0 {
			good = append(good, fmt.Sprintf("2026-01-05 10:%02d:%02d,500 FATAL [disk] controller reset on sd%d", i/60, i%60, i))
		}
	}
	for i := 0; i < 30; i++ { // a user's commands over two days
		good = append(good, fmt.Sprintf("[0%d/Jan/2026 1%d:00:00] 10.0.0.7 bob executed command 'git pull origin b%d'", 5+i/15, i%10, i))
	}
	eng := learn(t, DefaultConfig(), good)
	eng.Learnt()
	st := eng.Snapshot(timestamppb.New(t0))
	data, err := state.Encode(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := state.Decode(data)
	if err != nil || !proto.Equal(back, st) {
		t.Fatalf("decode: %v", err)
	}
	fresh, _ := New(DefaultConfig(), nil)
	if err := fresh.Restore(back); err != nil {
		t.Fatal(err)
	}
	if got, want := fresh.Sizes(), eng.Sizes(); got != want {
		t.Fatalf("sizes after restore %+v, want %+v", got, want)
	}
	again := fresh.Snapshot(timestamppb.New(t0))
	if !proto.Equal(again, st) {
		t.Fatal("snapshot of the restored engine differs")
	}
	p := logparse.New(logparse.Options{})
	// the learnt fatal pattern is baseline; a new one is not
	for _, c := range []struct {
		line      string
		anomalous bool
	}{
		{"2026-01-07 10:00:00,500 FATAL [disk] controller reset on sd9", false},
		{"2026-01-07 10:00:01,500 FATAL [net] link down on every uplink", true},
	} {
		if res := fresh.Process(line2(p, c.line, "x")); res.Verdict.Anomalous != c.anomalous {
			t.Errorf("%s: anomalous %v, want %v (%v)", c.line, res.Verdict.Anomalous, c.anomalous, res.Verdict.Findings)
		}
	}
	// the same template id for the same kind of line
	a := eng.Process(line2(p, "2026-01-07 11:00:00,000 INFO [main] heartbeat 7", "a"))
	b := fresh.Process(line2(p, "2026-01-07 11:00:00,000 INFO [main] heartbeat 7", "b"))
	if a.Verdict.TemplateId != b.Verdict.TemplateId || a.NewTemplate || b.NewTemplate {
		t.Fatalf("template after restore: %s/%v vs %s/%v", a.Verdict.TemplateId, a.NewTemplate, b.Verdict.TemplateId, b.NewTemplate)
	}
}

func TestRestoreRejects(t *testing.T) {
	eng, _ := New(DefaultConfig(), nil)
	bad := []*logwardenpb.EngineState{
		{Version: 99},
		{Version: StateVersion, Fleet: &logwardenpb.FleetState{Templates: []*logwardenpb.MinedTemplate{{Id: "", Count: 1}}}},
		{Version: StateVersion, Fleet: &logwardenpb.FleetState{Known: []*logwardenpb.TemplateKnowledge{{Id: "x", Accepted: 9}}}},
		{Version: StateVersion, Users: []*logwardenpb.UserState{{User: "bob", Hours: []int32{1}}}},
	}
	for i, st := range bad {
		if err := eng.Restore(st); err == nil {
			t.Errorf("state %d restored", i)
		}
	}
}

func FuzzRestore(f *testing.F) {
	eng := learn(f, DefaultConfig(), []string{"2026-01-05 10:00:00,000 ERROR [db] down", "[05/Jan/2026 10:00:00] 10.0.0.7 bob executed command 'ls'"})
	data, _ := state.Encode(eng.Snapshot(timestamppb.New(t0)))
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := state.Decode(data)
		if err != nil {
			return
		}
		e, _ := New(DefaultConfig(), nil)
		if e.Restore(st) != nil {
			return
		}
		p := logparse.New(logparse.Options{})
		e.Process(line2(p, "2026-01-05 10:00:01,000 ERROR [db] down", "y"))
		e.Process(line2(p, "[05/Jan/2026 10:00:00] 10.0.0.7 bob executed command 'ls -la'", "z"))
		e.Snapshot(timestamppb.New(t0))
	})
}

// BenchmarkStateSize learns n kinds of line and n users, and reports the state's
// bytes per 1,000 templates and per 10,000 users, and the time to load it.
func BenchmarkStateSize(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Template.MaxClusters = n
			var tl, ul []string
			for i := 0; i < n; i++ {
				tl = append(tl, kind(i))
				ul = append(ul, fmt.Sprintf("[05/Jan/2026 1%d:%02d:00] 10.%d.%d.7 user%d executed command 'git pull origin b%d'", i%10, i%60, i%200, i%250, i, i))
			}
			tmpl := learn(b, cfg, tl)
			users := learn(b, cfg, ul)
			for i := 0; i < n; i++ { // a second day for every user: hours, a directory
				users.Process(line2(logparse.New(logparse.Options{}), fmt.Sprintf("[06/Jan/2026 09:00:00] 10.0.0.7 user%d accessed directory '/srv/d%d'", i, i), ""))
			}
			ts, _ := state.Encode(tmpl.Snapshot(timestamppb.New(t0)))
			ud, _ := state.Encode(users.Snapshot(timestamppb.New(t0))) // users (baselines and commands), one template
			all, _ := state.Encode(tmpl.Snapshot(timestamppb.New(t0)))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				st, err := state.Decode(all)
				if err != nil {
					b.Fatal(err)
				}
				u, _ := state.Decode(ud)
				st.Users, st.Fleet.CommandUsers, st.Fleet.Shapes = u.Users, u.Fleet.CommandUsers, u.Fleet.Shapes
				e, _ := New(cfg, nil)
				if err := e.Restore(st); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/load")
			b.ReportMetric(float64(len(ts))/float64(tmpl.Sizes().Templates)*1000, "bytes/1k-templates")
			b.ReportMetric(float64(len(ud))/float64(users.Sizes().Users)*10000, "bytes/10k-users")
			b.ReportMetric(float64(tmpl.Sizes().Templates), "templates")
			b.ReportMetric(float64(users.Sizes().Users), "users")
		})
	}
}
