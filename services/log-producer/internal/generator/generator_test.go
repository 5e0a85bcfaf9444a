package generator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func generate(t testing.TB, opts Options, n int) (*Generator, []Event) {
	t.Helper()
	g, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = g.Next()
	}
	return g, evs
}

func TestDeterministicUnderSeed(t *testing.T) {
	_, a := generate(t, Options{Seed: 7}, 20000)
	_, b := generate(t, Options{Seed: 7}, 20000)
	_, c := generate(t, Options{Seed: 8}, 20000)
	same := 0
	for i := range a {
		if a[i].Line() != b[i].Line() || a[i].Label != b[i].Label {
			t.Fatalf("event %d differs under the same seed:\n%s %v\n%s %v", i, a[i].Line(), a[i].Label, b[i].Line(), b[i].Label)
		}
		if a[i].Line() == c[i].Line() {
			same++
		}
	}
	if same > len(a)/100 {
		t.Fatalf("seeds 7 and 8 share %d of %d lines", same, len(a))
	}
}

func TestOptionsAreValidated(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"unknown scenario", Options{Scenarios: []string{"nope"}}, `unknown scenario "nope"`},
		{"rate too high", Options{AnomalyRate: 0.9}, "anomaly_rate"},
		{"negative users", Options{Users: -1}, "users"},
		{"negative eps", Options{EventsPerSecond: -1}, "events per second"},
		{"unknown opener", Options{Opener: "nope"}, `opener: unknown scenario "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestDatasetShape checks a 100k-event dataset the way the classifier's evaluation uses
// it: the anomaly share counts lines, normal traffic stays in its users' habits, and
// every scenario has the documented shape (docs/generator.md).
func TestDatasetShape(t *testing.T) {
	g, evs := generate(t, Options{Seed: 1}, 100000)
	users := map[string]*User{}
	for _, u := range g.Users() {
		users[u.Name] = u
	}
	if len(users) != 50 {
		t.Fatalf("population has %d distinct users, want 50", len(users))
	}

	span := evs[len(evs)-1].Time.Sub(evs[0].Time)
	if span < 10*24*time.Hour || span > 20*24*time.Hour {
		t.Errorf("100k events span %s, want about two weeks", span)
	}
	anomalous := 0
	incidents := map[string][]Event{}
	usedIPs := map[string]bool{}
	for i, ev := range evs {
		if i > 0 && ev.Time.Before(evs[i-1].Time) {
			t.Fatalf("event %d goes back in time: %v after %v", i, ev.Time, evs[i-1].Time)
		}
		if ev.Label.Anomalous {
			anomalous++
			incidents[ev.Label.IncidentID] = append(incidents[ev.Label.IncidentID], ev)
			continue
		}
		u := users[ev.User]
		switch {
		case u == nil:
			t.Fatalf("normal event of unknown user: %s", ev.Line())
		case !u.Active(ev.Time):
			t.Fatalf("normal event outside %s's hours %d–%d (weekends %v): %s", u.Name, u.Start, u.End, u.Weekends, ev.Line())
		case !contains(u.IPs, ev.IP):
			t.Fatalf("normal event from an IP %s does not use: %s", u.Name, ev.Line())
		case isSensitive(ev.Target, u.Name):
			t.Fatalf("normal event touches a sensitive file: %s", ev.Line())
		}
		usedIPs[ev.IP] = true
	}
	rate := float64(anomalous) / float64(len(evs))
	if rate < 0.007 || rate > 0.015 {
		t.Errorf("anomalous share %.4f, want about 0.01", rate)
	}
	byScenario := map[string]int{}
	for id, lines := range incidents {
		sc := lines[0].Label.Scenario
		byScenario[sc]++
		if err := checkIncident(sc, lines, users, usedIPs); err != nil {
			t.Errorf("incident %s (%s): %v\n%s", id, sc, err, render(lines))
		}
	}
	for _, sc := range Scenarios() {
		if byScenario[sc] < 3 {
			t.Errorf("scenario %s: %d incidents in 100k events, want ≥ 3 (all: %v)", sc, byScenario[sc], byScenario)
		}
	}
	t.Logf("100k events: span %s, anomalous %d (%.4f), incidents per scenario %v", span, anomalous, rate, byScenario)
	stats := g.Stats()
	sumLines, sumInc := 0, 0
	for _, s := range stats {
		sumLines += s.Lines
		sumInc += s.Incidents
		if s.Incidents != byScenario[s.Scenario] {
			t.Errorf("Stats says %d %s incidents, labels say %d", s.Incidents, s.Scenario, byScenario[s.Scenario])
		}
	}
	if sumLines != anomalous || sumInc != len(incidents) {
		t.Errorf("Stats: %d lines / %d incidents, labels: %d / %d", sumLines, sumInc, anomalous, len(incidents))
	}
}

func checkIncident(sc string, lines []Event, users map[string]*User, usedIPs map[string]bool) error {
	first, last := lines[0], lines[len(lines)-1]
	dur := last.Time.Sub(first.Time)
	for _, l := range lines[1:] {
		if l.User != first.User {
			return fmt.Errorf("incident spans users %s and %s", first.User, l.User)
		}
	}
	switch sc {
	case ScenarioSensitiveFile:
		if len(lines) != 1 || first.Action != logparse.ActionFileAccess || !isSensitive(first.Target, first.User) {
			return fmt.Errorf("want one sensitive file access")
		}
	case ScenarioSensitiveFileBurst:
		seen := map[string]bool{}
		for _, l := range lines {
			if l.Action != logparse.ActionFileAccess || !isSensitive(l.Target, l.User) || seen[l.Target] {
				return fmt.Errorf("want distinct sensitive files, got %q", l.Target)
			}
			seen[l.Target] = true
		}
		if len(lines) < 3 || len(lines) > 8 || dur > 2*time.Minute {
			return fmt.Errorf("want 3–8 reads within 2 minutes, got %d in %s", len(lines), dur)
		}
	case ScenarioDangerousCommand:
		if len(lines) > 2 || last.Action != logparse.ActionCommand {
			return fmt.Errorf("want 1–2 commands")
		}
	case ScenarioBruteForce:
		fails := 0
		for i, l := range lines {
			if l.IP != first.IP {
				return fmt.Errorf("brute force from several IPs")
			}
			if l.Action == logparse.ActionLoginFailed {
				fails++
			} else if i != len(lines)-1 || l.Action != logparse.ActionLogin {
				return fmt.Errorf("only a final success may follow the failures")
			}
		}
		if fails < 10 || fails > 40 || dur > 5*time.Minute || usedIPs[first.IP] {
			return fmt.Errorf("want 10–40 failures within minutes from a new IP: %d in %s", fails, dur)
		}
	case ScenarioNewFarIP:
		u := users[first.User]
		if first.Action != logparse.ActionLogin || usedIPs[first.IP] || contains(u.IPs, first.IP) || len(lines) < 3 || len(lines) > 6 {
			return fmt.Errorf("want a login from a never-seen IP then 2–5 actions")
		}
		if strings.HasPrefix(first.IP, "10.") || strings.HasPrefix(first.IP, "172.16.") {
			return fmt.Errorf("far IP %s is in an office range", first.IP)
		}
	case ScenarioOffHours:
		u := users[first.User]
		if first.Action != logparse.ActionLogin || len(lines) < 4 || len(lines) > 9 || !contains(u.IPs, first.IP) {
			return fmt.Errorf("want a login from a usual IP then 3–8 actions")
		}
		for _, l := range lines {
			if u.Active(l.Time) || !u.FarOff(first.Time, 3*time.Hour) {
				return fmt.Errorf("%v is not well outside %d–%d", l.Time, u.Start, u.End)
			}
		}
	case ScenarioMassFileAccess:
		if len(lines) < 50 || len(lines) > 200 || dur > 10*time.Minute {
			return fmt.Errorf("want 50–200 files within minutes, got %d in %s", len(lines), dur)
		}
	default:
		return fmt.Errorf("unknown scenario")
	}
	return nil
}

func TestLinesParseBack(t *testing.T) {
	_, evs := generate(t, Options{Seed: 3, AnomalyRate: 0.05}, 20000)
	p := logparse.New(logparse.Options{})
	for _, ev := range evs {
		var pe logwardenpb.LogEvent
		line := ev.Line()
		p.Parse(line, &pe)
		if pe.GetFields()[logparse.FieldFormat] != logparse.FormatTutorial || pe.GetUser() != ev.User ||
			pe.GetIp() != ev.IP || pe.GetAction() != ev.Action || pe.GetTarget() != ev.Target ||
			!pe.GetTime().AsTime().Equal(ev.Time.Truncate(time.Second)) {
			t.Fatalf("%q parses as %v", line, &pe)
		}
	}
}

func TestLiveRateSpacing(t *testing.T) {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	_, evs := generate(t, Options{Seed: 2, EventsPerSecond: 5, Start: start, AnomalyRate: -1}, 5000)
	span := evs[len(evs)-1].Time.Sub(start).Seconds()
	if perSec := float64(len(evs)) / span; perSec < 4.5 || perSec > 5.5 {
		t.Fatalf("live mode at 5/s gives %.2f events per simulated second", perSec)
	}
	for _, ev := range evs {
		if ev.Label.Anomalous {
			t.Fatalf("anomaly injected with a negative rate: %v", ev)
		}
	}
}

func TestScenarioSubset(t *testing.T) {
	_, evs := generate(t, Options{Seed: 4, Scenarios: []string{ScenarioBruteForce}, AnomalyRate: 0.05}, 20000)
	n := 0
	for _, ev := range evs {
		if ev.Label.Anomalous {
			n++
			if ev.Label.Scenario != ScenarioBruteForce {
				t.Fatalf("scenario %s injected, only brute_force enabled", ev.Label.Scenario)
			}
		}
	}
	if n == 0 {
		t.Fatal("no brute_force injected")
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func isSensitive(target, user string) bool {
	for _, f := range SensitiveFiles {
		if target == strings.ReplaceAll(f, "%u", user) {
			return true
		}
	}
	return false
}

func render(evs []Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Line())
		b.WriteByte('\n')
	}
	return b.String()
}

func BenchmarkNext(b *testing.B) {
	g, err := New(Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		ev := g.Next()
		buf = ev.AppendLine(buf[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The opener is the first incident, OpenerAfter events in, even with injection off.
func TestOpenerComesFirst(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc, func(t *testing.T) {
			_, evs := generate(t, Options{Seed: 3, AnomalyRate: -1, Opener: sc, EventsPerSecond: 5}, 2000)
			first, incidents := -1, map[string]bool{}
			for i, ev := range evs {
				if !ev.Label.Anomalous {
					continue
				}
				if first < 0 {
					first = i
				}
				if ev.Label.Scenario != sc {
					t.Fatalf("event %d is %s, want only the opener %s", i, ev.Label.Scenario, sc)
				}
				incidents[ev.Label.IncidentID] = true
			}
			latest := 20 // a second after the 10th event at 5 events/s
			if sc == ScenarioOffHours {
				latest = len(evs) // waits for a user's night
			}
			if first < 10 || first > latest || len(incidents) != 1 {
				t.Fatalf("first anomalous event at %d (want 10..%d), %d incidents (want 1)", first, latest, len(incidents))
			}
		})
	}
}
