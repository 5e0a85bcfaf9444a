package silence

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func alert(rule, entity, host string, sev logwardenpb.Severity) *logwardenpb.Alert {
	return &logwardenpb.Alert{Id: "a", Fingerprint: "rules/" + rule + "/" + entity, Entity: entity, Severity: sev,
		Findings: []*logwardenpb.Finding{{Detector: "rules", RuleId: rule}},
		Evidence: []*logwardenpb.LogEvent{{Host: "old"}, {Host: host}}}
}

func mustSilence(t testing.TB, id string, start, end time.Time, matchers ...string) *Silence {
	t.Helper()
	s := &Silence{ID: id, StartsAt: start, EndsAt: end, CreatedBy: "test"}
	for _, m := range matchers {
		c, err := ParseMatcher(m)
		if err != nil {
			t.Fatal(err)
		}
		s.Matchers = append(s.Matchers, c)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLabels(t *testing.T) {
	l := LabelsOf(alert("dangerous-command", "alice", "web1", logwardenpb.Severity_SEVERITY_CRITICAL))
	if l != (Labels{Rule: "dangerous-command", Entity: "alice", Host: "web1", Severity: "critical"}) {
		t.Fatalf("labels %+v", l)
	}
	if l := LabelsOf(&logwardenpb.Alert{}); l != (Labels{}) {
		t.Fatalf("empty alert: %+v", l)
	}
}

func TestParseMatcher(t *testing.T) {
	l := Labels{Rule: "brute-force", Entity: "alice", Host: "web1", Severity: "high"}
	for _, tt := range []struct {
		in      string
		matches bool
		err     string
	}{
		{"entity=alice", true, ""},
		{"entity=bob", false, ""},
		{"entity!=bob", true, ""},
		{`entity="alice"`, true, ""},
		{"host=~web[0-9]+", true, ""},
		{"host=~web", false, ""}, // anchored: the whole value
		{"severity!~low|info", true, ""},
		{"rule!~brute.*", false, ""},
		{"title=x", false, "unknown label"},
		{"entity", false, "want name=value"},
		{"=alice", false, "want name=value"},
		{"entity=~(", false, "missing closing )"},
		{"entity=" + strings.Repeat("x", 2000), false, "longer than"},
	} {
		t.Run(tt.in[:min(len(tt.in), 30)], func(t *testing.T) {
			m, err := ParseMatcher(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Matches(l) != tt.matches {
				t.Fatalf("Matches = %v", !tt.matches)
			}
			back, err := ParseMatcher(m.String())
			if err != nil || back.String() != m.String() {
				t.Fatalf("round trip %q → %q (%v)", m.String(), back.String(), err)
			}
		})
	}
}

// A silence must select something specific: matchers that all accept an empty label
// (entity=~.*, host!=web1) would mute every alert.
func TestValidateRefusesMatchAll(t *testing.T) {
	for _, ms := range [][]string{{"entity=~.*"}, {"host!=web1"}, {"entity=~.*", "rule!~x"}} {
		s := &Silence{ID: "x", StartsAt: t0, EndsAt: t0.Add(time.Hour)}
		for _, m := range ms {
			c, _ := ParseMatcher(m)
			s.Matchers = append(s.Matchers, c)
		}
		if err := s.Validate(); !errors.Is(err, errMatchesAll) {
			t.Errorf("%v: %v", ms, err)
		}
	}
	bad := []*Silence{
		{ID: "", StartsAt: t0, EndsAt: t0.Add(time.Hour)},
		{ID: "x", StartsAt: t0, EndsAt: t0.Add(time.Hour)}, // no matchers
		mustSilence(t, "x", t0, t0.Add(time.Hour), "entity=a"),
	}
	bad[2].EndsAt = t0
	for i, s := range bad {
		if s.Validate() == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

func TestSetMatch(t *testing.T) {
	set := NewSet()
	set.Put(mustSilence(t, "alice-1h", t0, t0.Add(time.Hour), "entity=alice", "rule=dangerous-command"))
	set.Put(mustSilence(t, "alice-24h", t0, t0.Add(24*time.Hour), "entity=alice", "rule=dangerous-command"))
	set.Put(mustSilence(t, "web-hosts", t0, t0.Add(time.Hour), "host=~web[0-9]+", "severity!=critical"))
	set.Put(mustSilence(t, "later", t0.Add(2*time.Hour), t0.Add(3*time.Hour), "entity=carol"))
	for _, tt := range []struct {
		name string
		a    *logwardenpb.Alert
		at   time.Time
		want string
	}{
		{"entity and rule, the longest wins", alert("dangerous-command", "alice", "db1", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(time.Minute), "alice-24h"},
		{"after the 1h one ended", alert("dangerous-command", "alice", "db1", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(2 * time.Hour), "alice-24h"},
		{"other rule", alert("brute-force", "alice", "db1", logwardenpb.Severity_SEVERITY_HIGH), t0.Add(time.Minute), ""},
		{"other user", alert("dangerous-command", "bob", "db1", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(time.Minute), ""},
		{"regex host, not critical", alert("x", "bob", "web7", logwardenpb.Severity_SEVERITY_HIGH), t0.Add(time.Minute), "web-hosts"},
		{"regex host, critical", alert("x", "bob", "web7", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(time.Minute), ""},
		{"not started yet", alert("x", "carol", "db1", logwardenpb.Severity_SEVERITY_LOW), t0.Add(time.Hour), ""},
		{"started", alert("x", "carol", "db1", logwardenpb.Severity_SEVERITY_LOW), t0.Add(2 * time.Hour), "later"},
		{"before every start", alert("dangerous-command", "alice", "db1", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(-time.Second), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if s := set.Match(tt.a, tt.at); s != nil {
				got = s.ID
			}
			if got != tt.want {
				t.Fatalf("matched %q, want %q", got, tt.want)
			}
		})
	}
	if !set.Delete("alice-24h") || set.Delete("alice-24h") {
		t.Fatal("Delete")
	}
	if s := set.Match(alert("dangerous-command", "alice", "db1", logwardenpb.Severity_SEVERITY_CRITICAL), t0.Add(2*time.Hour)); s != nil {
		t.Fatalf("deleted silence still matches: %s", s.ID)
	}
	// Replacing a silence by id re-files it under its new matchers.
	set.Put(mustSilence(t, "web-hosts", t0, t0.Add(time.Hour), "entity=dave"))
	if s := set.Match(alert("x", "bob", "web7", logwardenpb.Severity_SEVERITY_HIGH), t0.Add(time.Minute)); s != nil {
		t.Fatalf("replaced silence matches under its old matchers")
	}
	if a, p := set.Count(t0.Add(time.Minute)); a != 2 || p != 1 {
		t.Fatalf("Count = %d active, %d pending", a, p)
	}
	if got := set.Ended(t0.Add(90 * time.Minute)); len(got) != 2 || got[0] != "alice-1h" || got[1] != "web-hosts" {
		t.Fatalf("Ended = %v", got)
	}
}

func TestEquivalent(t *testing.T) {
	set := NewSet()
	set.Put(mustSilence(t, "a", t0, t0.Add(24*time.Hour), "entity=alice", "rule=r"))
	if e := set.Equivalent(mustSilence(t, "b", t0, t0.Add(time.Hour), "rule=r", "entity=alice"), t0); e == nil || e.ID != "a" {
		t.Fatalf("a 1h silence under a 24h one: %v", e)
	}
	if e := set.Equivalent(mustSilence(t, "b", t0, t0.Add(48*time.Hour), "entity=alice", "rule=r"), t0); e != nil {
		t.Fatalf("a longer silence is not covered: %v", e.ID)
	}
	if e := set.Equivalent(mustSilence(t, "b", t0, t0.Add(time.Hour), "entity=alice"), t0); e != nil {
		t.Fatalf("other matchers: %v", e.ID)
	}
}

type writes struct {
	msgs []kafkax.Message
	err  error
}

func (w *writes) Write(_ context.Context, msgs ...kafkax.Message) error {
	if w.err != nil {
		return w.err
	}
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func TestStore(t *testing.T) {
	w := &writes{}
	st := NewStore("silences", w, nil)
	invalid := 0
	st.Invalid = func() { invalid++ }
	s := mustSilence(t, NewID(), t0, t0.Add(time.Hour), "entity=alice")
	if err := st.Add(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 1 || string(w.msgs[0].Key) != s.ID || w.msgs[0].Header(kafkax.HeaderSchema) != Schema {
		t.Fatalf("written %+v", w.msgs)
	}
	// Another replica reads the record.
	other := NewStore("silences", &writes{}, nil)
	other.Apply(w.msgs[0])
	got, ok := other.Get(s.ID)
	if !ok || !got.Same(s) || !got.EndsAt.Equal(s.EndsAt) || got.CreatedBy != "test" {
		t.Fatalf("applied %+v", got)
	}
	// Bad records are skipped and counted; the table keeps what it had.
	other.Invalid = func() { invalid++ }
	bad := w.msgs[0]
	bad.Key = []byte("other-id")
	other.Apply(bad)
	other.Apply(kafkax.Message{Key: []byte("x"), Value: []byte("\xff garbage")})
	wrong, _ := kafkax.NewProtoMessage("silences", s.ID, s.ID, &logwardenpb.Alert{Id: "a"})
	other.Apply(wrong)
	noMatchers, _ := proto.Marshal(&logwardenpb.Silence{Id: "y"})
	other.Apply(kafkax.Message{Key: []byte("y"), Value: noMatchers})
	if invalid != 4 || len(other.List()) != 1 {
		t.Fatalf("%d invalid counted, %d silences", invalid, len(other.List()))
	}
	// Expire writes a tombstone; the other replica drops the silence when it reads it.
	if err := st.Expire(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Expire(context.Background(), s.ID); !errors.Is(err, ErrUnknown) {
		t.Fatalf("second expire: %v", err)
	}
	if ts := w.msgs[1]; string(ts.Key) != s.ID || ts.Value != nil {
		t.Fatalf("tombstone %+v", ts)
	}
	other.Apply(w.msgs[1])
	if len(other.List()) != 0 {
		t.Fatal("tombstone not applied")
	}
	// A failed write leaves the set as it was.
	w.err = errors.New("broker down")
	if err := st.Add(context.Background(), mustSilence(t, "z", t0, t0.Add(time.Hour), "entity=z")); err == nil || len(st.List()) != 0 {
		t.Fatalf("failed write: %v, %d silences", err, len(st.List()))
	}
}

func TestExpireEnded(t *testing.T) {
	w := &writes{}
	st := NewStore("silences", w, nil)
	for i, d := range []time.Duration{time.Minute, time.Hour, 2 * time.Minute} {
		if err := st.Add(context.Background(), mustSilence(t, fmt.Sprint("s", i), t0, t0.Add(d), "entity=x")); err != nil {
			t.Fatal(err)
		}
	}
	n, err := st.ExpireEnded(context.Background(), t0.Add(5*time.Minute))
	if err != nil || n != 2 || len(st.List()) != 1 || st.List()[0].ID != "s1" {
		t.Fatalf("ExpireEnded = %d, %v; left %d", n, err, len(st.List()))
	}
	if tomb := w.msgs[len(w.msgs)-1]; tomb.Value != nil {
		t.Fatal("not a tombstone")
	}
}

// FuzzDecode: any record value is a valid silence or an error, never a panic, and a
// decoded silence always passes Validate.
func FuzzDecode(f *testing.F) {
	good, _ := proto.Marshal(mustSilence(f, "id", t0, t0.Add(time.Hour), "entity=alice", "host=~web.*").Proto())
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("\x0a\x02id\x12\x0a\x0a\x04host\x12\x02(("))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded an invalid silence: %v", err)
		}
	})
}

// BenchmarkMatch10k is the cost of checking one alert against 10,000 silences on
// single entities (what the buttons make), then with 100 more that only have regular
// expressions (every alert is compared with each of those).
func BenchmarkMatch10k(b *testing.B) {
	set := NewSet()
	for i := range 10000 {
		set.Put(mustSilence(b, fmt.Sprint("e", i), t0, t0.Add(time.Hour), fmt.Sprintf("entity=user%d", i), "rule=dangerous-command"))
	}
	alerts := []*logwardenpb.Alert{
		alert("dangerous-command", "user42", "web1", logwardenpb.Severity_SEVERITY_CRITICAL), // silenced
		alert("brute-force", "user42", "web1", logwardenpb.Severity_SEVERITY_HIGH),           // same entity, other rule
		alert("brute-force", "nobody", "web1", logwardenpb.Severity_SEVERITY_HIGH),           // no silence
	}
	now := t0.Add(time.Minute)
	run := func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			set.Match(alerts[i%len(alerts)], now)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	}
	b.Run("entities", run)
	for i := range 100 {
		set.Put(mustSilence(b, fmt.Sprint("r", i), t0, t0.Add(time.Hour), fmt.Sprintf("host=~db%d-[a-z]+", i)))
	}
	b.Run("entities+100regex", run)
}
