package generator

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
)

// DefaultStart is where the simulated clock of a dataset begins: Monday 2026-01-05 00:00 UTC.
var defaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Options configure a Generator. Zero values take the defaults.
type Options struct {
	// Seed makes the population and the events reproducible.
	Seed int64
	// Users in the population (default 50).
	Users int
	// AnomalyRate is the share of lines (not incidents) that belong to injected scenarios
	// (default 0.01; negative disables injection).
	AnomalyRate float64
	// Scenarios that may be injected (default: all of Scenarios()).
	Scenarios []string
	// Start of the simulated clock (default Monday 2026-01-05 00:00 UTC).
	Start time.Time
	// EventsPerSecond > 0 spaces normal events uniformly at that mean rate, whatever the
	// hour (live mode; users are still chosen among those at work). 0 follows the working
	// hours: the rate is EventsPerUserHour times the number of users at work, and nights and
	// weekends are quiet (datasets).
	EventsPerSecond float64
	// EventsPerUserHour is the activity of one user at work (default 20).
	EventsPerUserHour float64
	// Opener, a scenario name, is injected as the first incident once OpenerAfter events
	// were emitted (default 10), whatever AnomalyRate says: a demo shows an alert at once.
	Opener      string
	OpenerAfter int
}

func (o *Options) defaults() error {
	if o.Users == 0 {
		o.Users = 50
	}
	if o.Users < 1 || o.Users > 100000 {
		return fmt.Errorf("users: must be in 1..100000, got %d", o.Users)
	}
	if o.AnomalyRate == 0 {
		o.AnomalyRate = 0.01
	}
	if o.AnomalyRate > 0.5 {
		return fmt.Errorf("anomaly_rate: must be ≤ 0.5, got %g", o.AnomalyRate)
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios()
	}
	for _, s := range o.Scenarios {
		if scenarioByName(s) == nil {
			return fmt.Errorf("scenarios: unknown scenario %q (known: %v)", s, Scenarios())
		}
	}
	if o.Opener != "" && scenarioByName(o.Opener) == nil {
		return fmt.Errorf("opener: unknown scenario %q (known: %v)", o.Opener, Scenarios())
	}
	if o.OpenerAfter == 0 {
		o.OpenerAfter = 10
	}
	if o.Start.IsZero() {
		o.Start = defaultStart
	}
	if o.EventsPerSecond < 0 {
		return fmt.Errorf("events per second: must be ≥ 0, got %g", o.EventsPerSecond)
	}
	if o.EventsPerUserHour == 0 {
		o.EventsPerUserHour = 20
	}
	if o.EventsPerUserHour < 0 {
		return fmt.Errorf("events per user hour: must be > 0, got %g", o.EventsPerUserHour)
	}
	return nil
}

// ScenarioStats counts what was emitted for one scenario.
type ScenarioStats struct {
	Scenario  string `json:"scenario"`
	Incidents int    `json:"incidents"`
	Lines     int    `json:"lines"`
}

// Generator produces an endless, time-ordered stream of events. Not safe for concurrent use.
type Generator struct {
	opts      Options
	rng       *rand.Rand
	users     []*User
	byHour    [7 * 24][]int // users at work per hour of the week (Monday 00:00 = 0)
	sessions  []session
	scenarios []*scenario

	now        time.Time
	nextNormal time.Time
	queue      eventQueue
	seq        uint64

	emitted, anomalous, scheduledAnomalous int
	incidents                              int
	opened                                 bool
	stats                                  []ScenarioStats
}

type session struct {
	ip        string
	remaining int
	last      time.Time
}

// New builds the population and the clock.
func New(opts Options) (*Generator, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	seed := uint64(opts.Seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{opts: opts, rng: rng}
	g.users = newPopulation(opts.Users, opts.Seed, rng)
	g.sessions = make([]session, len(g.users))
	for how := range g.byHour {
		t := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).Add(time.Duration(how) * time.Hour) // a Monday
		for i, u := range g.users {
			if u.Active(t) {
				g.byHour[how] = append(g.byHour[how], i)
			}
		}
	}
	for _, name := range opts.Scenarios {
		g.scenarios = append(g.scenarios, scenarioByName(name))
		g.stats = append(g.stats, ScenarioStats{Scenario: name})
	}
	g.now = opts.Start
	g.nextNormal = g.advance(opts.Start)
	return g, nil
}

// Users returns the population (read-only).
func (g *Generator) Users() []*User { return g.users }

// Stats returns per-scenario counts of what Next has returned so far.
func (g *Generator) Stats() []ScenarioStats { return append([]ScenarioStats(nil), g.stats...) }

// Emitted returns how many events Next returned, and how many of them were anomalous.
func (g *Generator) Emitted() (total, anomalous int) { return g.emitted, g.anomalous }

// Next returns the next event in time order.
func (g *Generator) Next() Event {
	var ev Event
	if len(g.queue) > 0 && !g.queue[0].ev.Time.After(g.nextNormal) {
		q := heap.Pop(&g.queue).(queued)
		ev = q.ev
		if q.first {
			g.stat(ev.Label.Scenario).Incidents++
		}
	} else {
		ev = g.normal(g.nextNormal)
		g.nextNormal = g.advance(g.nextNormal)
	}
	g.now = ev.Time
	g.emitted++
	if ev.Label.Anomalous {
		g.anomalous++
		g.stat(ev.Label.Scenario).Lines++
	}
	g.maybeStartIncident()
	return ev
}

func hourOfWeek(t time.Time) int {
	t = t.UTC()
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

// advance returns the time of the normal event after t.
func (g *Generator) advance(t time.Time) time.Time {
	if g.opts.EventsPerSecond > 0 {
		return t.Add(time.Duration(g.rng.ExpFloat64() / g.opts.EventsPerSecond * float64(time.Second)))
	}
	// Inhomogeneous Poisson process, constant within each hour: spend an Exp(1) amount of
	// "work" at rate active(hour) × per-user rate, hour by hour.
	work := g.rng.ExpFloat64()
	perSecond := g.opts.EventsPerUserHour / 3600
	for i := 0; i < 7*24*4; i++ {
		boundary := t.Truncate(time.Hour).Add(time.Hour)
		rate := float64(len(g.byHour[hourOfWeek(t)])) * perSecond
		if rate > 0 {
			need := time.Duration(work / rate * float64(time.Second))
			if t.Add(need).Before(boundary) {
				return t.Add(need)
			}
			work -= rate * boundary.Sub(t).Seconds()
		}
		t = boundary
	}
	return t // nobody ever works: one event per four weeks
}

// activeUsers returns the indices of users at work at t (every user when none is).
func (g *Generator) pickActive(t time.Time) int {
	active := g.byHour[hourOfWeek(t)]
	if len(active) == 0 {
		return g.rng.IntN(len(g.users))
	}
	return active[g.rng.IntN(len(active))]
}

// normal is one event of ordinary activity at t.
func (g *Generator) normal(t time.Time) Event {
	i := g.pickActive(t)
	u, s := g.users[i], &g.sessions[i]
	ev := Event{Time: t, User: u.Name}
	if s.remaining <= 0 || t.Sub(s.last) > 2*time.Hour {
		// A new session. Now and then a mistyped password first: ordinary noise.
		s.ip = u.IPs[g.rng.IntN(len(u.IPs))]
		s.last = t
		ev.IP = s.ip
		if g.rng.IntN(30) == 0 {
			ev.Action = logparse.ActionLoginFailed
			s.remaining = 0
			return ev
		}
		ev.Action = logparse.ActionLogin
		s.remaining = 5 + g.rng.IntN(26)
		return ev
	}
	s.remaining--
	s.last = t
	ev.IP = s.ip
	switch r := g.rng.IntN(10); {
	case r < 5:
		ev.Action, ev.Target = logparse.ActionFileAccess, u.Files[g.rng.IntN(len(u.Files))]
	case r < 7:
		ev.Action, ev.Target = logparse.ActionDirAccess, u.Dirs[g.rng.IntN(len(u.Dirs))]
	default:
		ev.Action, ev.Target = logparse.ActionCommand, u.Commands[g.rng.IntN(len(u.Commands))]
		if g.rng.IntN(50) == 0 { // rarely, a harmless command the user never ran before
			ev.Target = benignCommands[g.rng.IntN(len(benignCommands))]
		}
	}
	return ev
}

// maybeStartIncident schedules an incident when the anomalous share (counting lines
// already scheduled) is below the target; a small start probability spreads incidents out.
func (g *Generator) maybeStartIncident() {
	if g.opts.Opener != "" && !g.opened && g.emitted >= g.opts.OpenerAfter {
		g.opened = true
		g.startIncident(scenarioByName(g.opts.Opener), true)
		return
	}
	if g.opts.AnomalyRate <= 0 || len(g.scenarios) == 0 {
		return
	}
	if float64(g.scheduledAnomalous) >= g.opts.AnomalyRate*float64(g.emitted+1) || g.rng.IntN(20) != 0 {
		return
	}
	total := 0.0
	for _, s := range g.scenarios {
		total += s.weight
	}
	pick := g.rng.Float64() * total
	sc := g.scenarios[len(g.scenarios)-1]
	for _, s := range g.scenarios {
		if pick < s.weight {
			sc = s
			break
		}
		pick -= s.weight
	}
	g.startIncident(sc, false)
}

// startIncident schedules an incident of sc. prompt moves it to start a second from now
// when it would start within two minutes anyway (the builders' jitter), so an opener
// shows at once; an incident that waits for a time of day (off_hours) still waits.
func (g *Generator) startIncident(sc *scenario, prompt bool) {
	g.incidents++
	id := fmt.Sprintf("inc-%d-%05d", g.opts.Seed, g.incidents)
	evs := sc.build(g, g.now)
	first := 0
	for i, ev := range evs {
		if ev.Time.Before(evs[first].Time) {
			first = i
		}
	}
	if shift := evs[first].Time.Sub(g.now.Add(time.Second)); prompt && shift > 0 && shift < 2*time.Minute {
		for i := range evs {
			evs[i].Time = evs[i].Time.Add(-shift)
		}
	}
	for i, ev := range evs {
		ev.Label = Label{Anomalous: true, Scenario: sc.name, IncidentID: id}
		g.seq++
		heap.Push(&g.queue, queued{ev: ev, seq: g.seq, first: i == first})
	}
	g.scheduledAnomalous += len(evs)
}

func (g *Generator) stat(scenario string) *ScenarioStats {
	for i := range g.stats {
		if g.stats[i].Scenario == scenario {
			return &g.stats[i]
		}
	}
	g.stats = append(g.stats, ScenarioStats{Scenario: scenario})
	return &g.stats[len(g.stats)-1]
}

// Ordering of scheduled incident lines: by time, then by scheduling order.
type queued struct {
	ev    Event
	seq   uint64
	first bool // the incident's first line: it counts the incident
}

type eventQueue []queued

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].ev.Time.Equal(q[j].ev.Time) {
		return q[i].ev.Time.Before(q[j].ev.Time)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
