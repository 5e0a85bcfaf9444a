package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func alert(id, fp, entity string) *logwardenpb.Alert {
	return &logwardenpb.Alert{Id: id, Fingerprint: fp, Entity: entity, Severity: logwardenpb.Severity_SEVERITY_HIGH, Title: "t", Count: 1}
}

func cfg() Config {
	c := DefaultConfig()
	c.SeenIDs = 100
	return c
}

func TestTimeline(t *testing.T) {
	type step struct {
		at    time.Duration
		add   []*logwardenpb.Alert
		want  map[string]int64 // group key → count of the notification due at `at`
		added []bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"group_wait gathers, group_interval spaces follow-ups", []step{
			{at: 0, add: []*logwardenpb.Alert{alert("1", "a", "u")}},
			{at: 5 * time.Second, add: []*logwardenpb.Alert{alert("2", "a", "u")}},
			{at: 9 * time.Second, want: map[string]int64{}},
			{at: 10 * time.Second, want: map[string]int64{"fingerprint=a": 2}},
			{at: 20 * time.Second, add: []*logwardenpb.Alert{alert("3", "a", "u")}},
			{at: 69 * time.Second, want: map[string]int64{}},
			{at: 70 * time.Second, want: map[string]int64{"fingerprint=a": 3}},
			{at: 5 * time.Minute, want: map[string]int64{}},
		}},
		{"redelivered ids are dropped", []step{
			{at: 0, add: []*logwardenpb.Alert{alert("1", "a", "u"), alert("1", "a", "u")}, added: []bool{true, false}},
			{at: 10 * time.Second, want: map[string]int64{"fingerprint=a": 1}},
			{at: 2 * time.Minute, add: []*logwardenpb.Alert{alert("1", "a", "u")}, added: []bool{false}},
			{at: 4 * time.Minute, want: map[string]int64{}},
		}},
		{"groups are independent", []step{
			{at: 0, add: []*logwardenpb.Alert{alert("1", "a", "u"), alert("2", "b", "v")}},
			{at: 10 * time.Second, want: map[string]int64{"fingerprint=a": 1, "fingerprint=b": 1}},
		}},
		{"after repeat_interval of quiet a new message opens with a fresh count", []step{
			{at: 0, add: []*logwardenpb.Alert{alert("1", "a", "u")}},
			{at: 10 * time.Second, want: map[string]int64{"fingerprint=a": 1}},
			{at: 5 * time.Hour, add: []*logwardenpb.Alert{alert("2", "a", "u")}},
			{at: 5*time.Hour + 10*time.Second, want: map[string]int64{"fingerprint=a": 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New[string](cfg())
			for _, s := range tt.steps {
				now := t0.Add(s.at)
				for i, a := range s.add {
					got := g.Add(now, a, a.GetId())
					want := true
					if s.added != nil {
						want = s.added[i]
					}
					if got != want {
						t.Fatalf("at %v Add(%s) = %v, want %v", s.at, a.GetId(), got, want)
					}
				}
				if s.want == nil {
					continue
				}
				got := map[string]int64{}
				for _, b := range g.Due(now) {
					got[b.GroupKey] = b.Count
				}
				if fmt.Sprint(got) != fmt.Sprint(s.want) {
					t.Fatalf("at %v due %v, want %v", s.at, got, s.want)
				}
			}
		})
	}
}

func TestFollowUpSeqAndTokens(t *testing.T) {
	g := New[string](cfg())
	g.Add(t0, alert("1", "a", "u"), "t1")
	b := g.Due(t0.Add(10 * time.Second))
	if len(b) != 1 || b[0].Seq != 0 || fmt.Sprint(b[0].Tokens) != "[t1]" {
		t.Fatalf("first: %+v", b)
	}
	g.Add(t0.Add(11*time.Second), alert("2", "a", "u"), "t2")
	g.Add(t0.Add(12*time.Second), alert("3", "a", "u"), "t3")
	if next, ok := g.Next(); !ok || !next.Equal(t0.Add(70*time.Second)) {
		t.Fatalf("next = %v %v, want t0+70s", next, ok)
	}
	b = g.Due(t0.Add(70 * time.Second))
	if len(b) != 1 || b[0].Seq != 1 || b[0].Count != 3 || b[0].New != 2 || fmt.Sprint(b[0].Tokens) != "[t2 t3]" {
		t.Fatalf("follow-up: %+v", b)
	}
}

func TestStormIsOneMessage(t *testing.T) {
	g := New[int](DefaultConfig())
	for i := range 10000 {
		g.Add(t0.Add(time.Duration(i)*time.Millisecond/2), alert(fmt.Sprint(i), "brute-alice", "alice"), i)
	}
	b := g.Due(t0.Add(10 * time.Second))
	if len(b) != 1 || b[0].Count != 10000 || len(b[0].Tokens) != 10000 {
		t.Fatalf("got %d notifications (count %d)", len(b), b[0].Count)
	}
}

func TestGroupBy(t *testing.T) {
	tests := []struct {
		by   []string
		want string
	}{
		{[]string{"fingerprint"}, "fingerprint=fp"},
		{[]string{"entity", "severity"}, "entity=alice,severity=SEVERITY_HIGH"},
		{[]string{"title"}, "title=t"},
	}
	for _, tt := range tests {
		c := cfg()
		c.By = tt.by
		if got := c.Key(alert("1", "fp", "alice")); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.by, got, tt.want)
		}
	}
}

func TestSeenIDsBounded(t *testing.T) {
	c := cfg()
	c.SeenIDs = 2
	g := New[string](c)
	for _, id := range []string{"1", "2", "3"} {
		g.Add(t0, alert(id, "a", "u"), id)
	}
	if g.Add(t0, alert("3", "a", "u"), "3") {
		t.Fatal("recent id 3 not remembered")
	}
	if !g.Add(t0, alert("1", "a", "u"), "1") {
		t.Fatal("id 1 should have been evicted")
	}
}

func TestValidate(t *testing.T) {
	c := cfg()
	c.By = []string{"host"}
	if err := c.Validate(); err == nil {
		t.Fatal("unknown label accepted")
	}
	if err := cfg().Validate(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAddDue: 50 groups, as the pipeline drives the grouper (Next after every
// Add, Due now and then).
func BenchmarkAddDue(b *testing.B) { benchAddDue(b, 50) }

// BenchmarkAddDueManyGroups: a flood of 10,000 distinct fingerprints held open.
func BenchmarkAddDueManyGroups(b *testing.B) { benchAddDue(b, 10000) }

func benchAddDue(b *testing.B, groups int) {
	g := New[struct{}](DefaultConfig())
	alerts := make([]*logwardenpb.Alert, groups)
	for i := range alerts {
		alerts[i] = alert("", fmt.Sprint("fp", i), "u")
	}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	now := t0
	for i := 0; i < b.N; i++ {
		a := alerts[i%len(alerts)]
		a.Id = ids[i]
		now = now.Add(time.Millisecond)
		g.Add(now, a, struct{}{})
		g.Next()
		if i%100 == 99 {
			g.Due(now)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// Groups quiet for repeat_interval are forgotten, however many there are; a group with
// alerts pending is kept whatever its age.
func TestClosedGroupsAreForgotten(t *testing.T) {
	g := New[int](cfg())
	for i := range 1000 {
		g.Add(t0, alert(fmt.Sprint(i), fmt.Sprint("fp", i), "u"), i)
	}
	if n := len(g.Due(t0.Add(10 * time.Second))); n != 1000 {
		t.Fatalf("%d due, want 1000", n)
	}
	g.Add(t0.Add(time.Hour), alert("late", "fp7", "u"), -1) // pending follow-up
	g.Due(t0.Add(4*time.Hour + 9*time.Second))
	if g.Open() != 1000 {
		t.Fatalf("%d open before repeat_interval, want 1000", g.Open())
	}
	b := g.Due(t0.Add(4*time.Hour + 10*time.Second))
	if g.Open() != 1 || len(b) != 0 {
		t.Fatalf("%d open (want the one whose follow-up was sent), %d due", g.Open(), len(b))
	}
}
