package engine

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

var fleetKey = []byte("0123456789abcdef")

// fleetEngine learns kinds of application lines [from, to) and the commands of users
// (user → address), from partition part, from 09:00 to 10:40 on 2026-01-05.
func fleetEngine(t testing.TB, cfg Config, from, to int, part int32, users map[string]string) *Engine {
	t.Helper()
	eng, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.SetHashKey(fleetKey); err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	names := slices.Sorted(func(yield func(string) bool) {
		for u := range users {
			if !yield(u) {
				return
			}
		}
	})
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 400; i++ {
		at = at.Add(15 * time.Second) // 400 lines to 10:40
		k := from + i%(to-from)
		eng.ProcessFrom(line2(p, infoKind(at, k), fmt.Sprint("a", i)), part)
		u := names[i%len(names)]
		eng.ProcessFrom(line2(p, fmt.Sprintf("[%s] %s %s executed command 'git pull origin b%d'", at.Format("02/Jan/2006 15:04:05"), users[u], u, i%5), fmt.Sprint("c", i)), part)
	}
	return eng
}

// infoKind is an info line of the k-th kind at at.
func infoKind(at time.Time, k int) string {
	return at.Format("2006-01-02 15:04:05,000") + " " + strings.Replace(kind(k), "ERROR", "INFO", 1)
}

// canon sorts what a FleetState lists, so states with the same content compare equal.
func canon(fs *logwardenpb.FleetState) *logwardenpb.FleetState {
	fs = proto.Clone(fs).(*logwardenpb.FleetState)
	sort.Slice(fs.Templates, func(i, j int) bool { return fs.Templates[i].Id < fs.Templates[j].Id })
	sort.Slice(fs.Known, func(i, j int) bool { return fs.Known[i].Id < fs.Known[j].Id })
	for _, k := range fs.Known {
		slices.Sort(k.Hours)
		slices.Sort(k.Days)
	}
	sort.Slice(fs.Rates, func(i, j int) bool { return fs.Rates[i].Id < fs.Rates[j].Id })
	sort.Slice(fs.Hosts, func(i, j int) bool { return fs.Hosts[i].Name < fs.Hosts[j].Name })
	sort.Slice(fs.RarePairs, func(i, j int) bool { return fs.RarePairs[i].Hash < fs.RarePairs[j].Hash })
	sort.Slice(fs.Executables, func(i, j int) bool { return fs.Executables[i].Name < fs.Executables[j].Name })
	slices.Sort(fs.Shapes)
	sort.Slice(fs.ErrorHosts, func(i, j int) bool { return fs.ErrorHosts[i].Host < fs.ErrorHosts[j].Host })
	return fs
}

// Merging the views of two instances gives the same knowledge in either order, and
// merging a view again changes nothing: replicas converge without a leader.
func TestMergeFleetCommutativeAndIdempotent(t *testing.T) {
	a := fleetEngine(t, DefaultConfig(), 0, 60, 0, map[string]string{"alice": "10.1.0.7", "bob": "10.2.0.7"})
	b := fleetEngine(t, DefaultConfig(), 40, 85, 1, map[string]string{"carol": "10.2.0.9", "dave": "10.3.0.9"})
	fa, fb := a.FleetSnapshot(), b.FleetSnapshot()
	if len(fa.Templates) < 60 || len(fb.Known) < 45 || len(fa.Shapes) == 0 || len(fa.Networks) != 2 {
		t.Fatalf("test streams learnt too little: %d templates, %d known, %d shapes, %d networks", len(fa.Templates), len(fb.Known), len(fa.Shapes), len(fa.Networks))
	}
	merged := func(views ...*logwardenpb.FleetState) *logwardenpb.FleetState {
		e, _ := New(DefaultConfig(), nil)
		if err := e.SetHashKey(fleetKey); err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			if _, err := e.MergeFleet(v); err != nil {
				t.Fatal(err)
			}
		}
		return canon(e.FleetSnapshot())
	}
	ab, ba := merged(fa, fb), merged(fb, fa)
	if !proto.Equal(ab, ba) {
		t.Fatal("merging a then b differs from b then a")
	}
	if !proto.Equal(merged(fa, fb, fa, fb), ab) {
		t.Fatal("merging the same views again changed the state")
	}
	// the union: every template either knew, common networks where both saw users
	ids := map[string]bool{}
	for _, k := range ab.Known {
		ids[k.Id] = true
	}
	for _, k := range append(append([]*logwardenpb.TemplateKnowledge{}, fa.Known...), fb.Known...) {
		if !ids[k.Id] {
			t.Fatalf("template %s lost in the merge", k.Id)
		}
	}
	if got := ab.Networks; got["10.1.0.0/16"] != "alice" || got["10.2.0.0/16"] != "" || got["10.3.0.0/16"] != "dave" {
		t.Fatalf("networks %v: 10.2 is used by bob and carol, so common", got)
	}
	// an instance merging its own view is unchanged
	before := canon(a.FleetSnapshot())
	if _, err := a.MergeFleet(fa); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(canon(a.FleetSnapshot()), before) {
		t.Fatal("merging its own view changed an engine")
	}
}

// Whatever it merges, an engine stays within its bounds, and its own templates are
// not evicted for another instance's.
func TestMergeFleetBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Template.MaxClusters, cfg.Template.MaxTemplates, cfg.Volume.MaxTemplates, cfg.Commands.MaxExecutables = 50, 40, 30, 4
	own := fleetEngine(t, cfg, 0, 20, 0, map[string]string{"alice": "10.1.0.7"})
	mine := map[string]bool{}
	for _, m := range own.FleetSnapshot().Templates {
		mine[m.Id] = true
	}
	for i := 1; i <= 10; i++ {
		other := fleetEngine(t, DefaultConfig(), i*100, i*100+60, 0, map[string]string{fmt.Sprint("u", i): fmt.Sprintf("10.%d.0.1", i)})
		fs := other.FleetSnapshot()
		for j := 0; j < 10; j++ {
			fs.Executables = append(fs.Executables, &logwardenpb.NamedCount{Name: fmt.Sprint("tool", i, j), Count: 1})
		}
		if _, err := own.MergeFleet(fs); err != nil {
			t.Fatal(err)
		}
	}
	z := own.Sizes()
	if z.Templates > 50 || z.KnownTemplates > 40 || own.rates.Len() > 30 || z.Executables > 4 {
		t.Fatalf("sizes after merging 10 views: %+v, %d rates", z, own.rates.Len())
	}
	held := map[string]bool{}
	for _, m := range own.FleetSnapshot().Templates {
		held[m.Id] = true
	}
	for id := range mine {
		if !held[id] {
			t.Fatalf("own template %s evicted by merged ones", id)
		}
	}
}

// What one instance learnt, another knows after a merge: a template the fleet has
// seen is not new on a fresh replica, and a network two users of the fleet work from
// is not foreign for a user of this replica.
func TestMergedFleetKnowledgeIsUsed(t *testing.T) {
	fleet := fleetEngine(t, DefaultConfig(), 0, 60, 0, map[string]string{"alice": "10.9.0.7", "bob": "10.9.1.8"})
	fs := fleet.FleetSnapshot()
	for _, shared := range []bool{false, true} {
		// this replica has its own users (past the global warm-up) and, when shared,
		// what the fleet learnt
		cfg := DefaultConfig()
		cfg.Stats.GlobalWarmup = 300 // of the 400 commands
		eng := fleetEngine(t, cfg, 500, 520, 1, map[string]string{"carol": "10.4.0.1", "dave": "10.4.0.2", "erin": "10.4.0.3"})
		if shared {
			m, err := eng.MergeFleet(fs)
			if err != nil || m.Known < 60 || m.Networks != 1 {
				t.Fatalf("merged %+v, %v", m, err)
			}
		}
		p := logparse.New(logparse.Options{})
		at := time.Date(2026, 1, 5, 11, 30, 0, 0, time.UTC)
		rules := map[string]bool{}
		for i, l := range []string{
			infoKind(at, 7), // a kind the fleet knows
			fmt.Sprintf("[%s] 10.9.3.3 carol executed command 'git pull origin b1'", at.Format("02/Jan/2006 15:04:05")), // a network the fleet uses
		} {
			for _, f := range eng.ProcessFrom(line(t, p, l, fmt.Sprint("x", i)), 1).Verdict.Findings {
				rules[f.RuleId] = true
			}
		}
		if rules["template.new"] == shared || rules["stats.new-network"] == shared {
			t.Errorf("shared=%v: findings %v; want template.new and stats.new-network only without the fleet's knowledge", shared, rules)
		}
	}
}

// The users of one partition leave an engine and come back in another one intact.
func TestPartitionUsersRoundTrip(t *testing.T) {
	a := fleetEngine(t, DefaultConfig(), 0, 10, 2, map[string]string{"alice": "10.1.0.7", "bob": "10.2.0.7"})
	other := fleetEngine(t, DefaultConfig(), 0, 10, 3, map[string]string{"carol": "10.3.0.7"})
	users, cmds := a.PartitionUsers(2)
	if len(users) != 2 || len(cmds) != 2 {
		t.Fatalf("partition 2: %d users, %d command histories", len(users), len(cmds))
	}
	if u, c := a.PartitionUsers(3); len(u) != 0 || len(c) != 0 {
		t.Fatal("partition 3 has users on an engine that never read it")
	}
	if err := other.RestoreUsers(a.HashKey(), users, cmds); err != nil {
		t.Fatal(err)
	}
	u2, c2 := other.PartitionUsers(2)
	if !proto.Equal(&logwardenpb.EngineState{Users: sortUsers(u2), Fleet: &logwardenpb.FleetState{CommandUsers: sortCmds(c2)}},
		&logwardenpb.EngineState{Users: sortUsers(users), Fleet: &logwardenpb.FleetState{CommandUsers: sortCmds(cmds)}}) {
		t.Fatal("restored users differ")
	}
	if u3, _ := other.PartitionUsers(3); len(u3) != 1 {
		t.Fatal("the engine's own users were lost")
	}
	// with another hash key, the directory hashes are left out
	users[0].Directories = []uint64{1, 2, 3}
	fresh, _ := New(DefaultConfig(), nil)
	if err := fresh.RestoreUsers([]byte("another key"), users, cmds); err != nil {
		t.Fatal(err)
	}
	for _, u := range fresh.stats.PartitionUsers(2) {
		if len(u.Directories) != 0 {
			t.Fatalf("%s: directories hashed with another key kept", u.User)
		}
	}
	if err := fresh.RestoreUsers(nil, []*logwardenpb.UserState{{User: "x", Hours: []int32{1}}}, nil); err == nil {
		t.Fatal("invalid user restored")
	}
}

func sortUsers(us []*logwardenpb.UserState) []*logwardenpb.UserState {
	us = slices.Clone(us)
	sort.Slice(us, func(i, j int) bool { return us[i].User < us[j].User })
	for _, u := range us {
		slices.Sort(u.Addresses)
		slices.Sort(u.Directories)
		sort.Slice(u.Rates, func(i, j int) bool { return u.Rates[i].Action < u.Rates[j].Action })
	}
	return us
}

func sortCmds(cs []*logwardenpb.UserCommands) []*logwardenpb.UserCommands {
	cs = slices.Clone(cs)
	sort.Slice(cs, func(i, j int) bool { return cs[i].User < cs[j].User })
	return cs
}

// Prime rebuilds the rules' windows (a burst spanning the replay and the live event
// is seen) and learns nothing else.
func TestPrimeRebuildsRuleWindowsOnly(t *testing.T) {
	eng, _ := New(DefaultConfig(), nil)
	p := logparse.New(logparse.Options{})
	read := func(i int, f string) *logwardenpb.LogEvent {
		return line(t, p, fmt.Sprintf("[05/Jan/2026 10:00:0%d] 10.10.1.2 veronica08 accessed file '%s'", i, f), fmt.Sprint("e", i))
	}
	eng.Prime(read(0, "/etc/shadow"), 4)
	eng.Prime(read(1, "/etc/sudoers"), 4)
	if z := eng.Sizes(); z.Templates != 0 || z.Users != 0 || z.KnownTemplates != 0 {
		t.Fatalf("priming learnt: %+v", z)
	}
	res := eng.ProcessFrom(read(2, "/root/.ssh/id_rsa"), 4)
	burst := false
	for _, f := range res.Verdict.Findings {
		burst = burst || f.RuleId == "sensitive-file-burst"
	}
	if !burst {
		t.Fatalf("no burst after priming: %v", res.Verdict.Findings)
	}
	// the primed reads opened their alert episodes: the live read does not alert again for them
	for _, a := range res.Alerts {
		if strings.Contains(a.Fingerprint, "sensitive-file-read") {
			t.Fatalf("alert %s again after priming", a.Fingerprint)
		}
	}
}

// A new hash key drops what was hashed with the old one; the same key keeps it.
func TestSetHashKey(t *testing.T) {
	eng := fleetEngine(t, DefaultConfig(), 0, 10, 0, map[string]string{"alice": "10.1.0.7"})
	if err := eng.SetHashKey(fleetKey); err != nil || len(eng.FleetSnapshot().Shapes) == 0 {
		t.Fatal("the same key dropped the shapes")
	}
	if err := eng.SetHashKey([]byte("another key")); err != nil {
		t.Fatal(err)
	}
	fs := eng.FleetSnapshot()
	if len(fs.Shapes) != 0 || len(fs.RarePairs) != 0 || !bytes.Equal(fs.HashKey, []byte("another key")) {
		t.Fatalf("after a new key: %d shapes, %d rare pairs, key %q", len(fs.Shapes), len(fs.RarePairs), fs.HashKey)
	}
	if len(fs.Templates) == 0 || len(fs.Executables) == 0 {
		t.Fatal("a new key dropped what is not hashed")
	}
	if eng.SetHashKey(nil) == nil || eng.SetHashKey(make([]byte, 65)) == nil {
		t.Fatal("bad keys accepted")
	}
	// a view hashed with another key merges without its hashed parts
	other := fleetEngine(t, DefaultConfig(), 0, 10, 0, map[string]string{"bob": "10.2.0.7"})
	if _, err := eng.MergeFleet(other.FleetSnapshot()); err != nil {
		t.Fatal(err)
	}
	if fs := eng.FleetSnapshot(); len(fs.Shapes) != 0 || len(fs.RarePairs) != 0 {
		t.Fatal("hashes made with another key merged")
	}
}

// Whatever a fleet record holds, merging it and the users it names never panics, and
// the engine keeps working.
func FuzzMergeFleet(f *testing.F) {
	src := fleetEngine(f, DefaultConfig(), 0, 5, 0, map[string]string{"bob": "10.0.0.7"})
	fs, _ := proto.Marshal(src.FleetSnapshot())
	users, cmds := src.PartitionUsers(0)
	us, _ := proto.Marshal(&logwardenpb.PartitionUsers{Users: users, Commands: cmds})
	f.Add(fs, us)
	f.Fuzz(func(t *testing.T, fleet, part []byte) {
		e, _ := New(DefaultConfig(), nil)
		_ = e.SetHashKey(fleetKey)
		var fs logwardenpb.FleetState
		if proto.Unmarshal(fleet, &fs) == nil {
			_, _ = e.MergeFleet(&fs)
		}
		var pu logwardenpb.PartitionUsers
		if proto.Unmarshal(part, &pu) == nil {
			_ = e.RestoreUsers(pu.GetHashKey(), pu.GetUsers(), pu.GetCommands())
		}
		p := logparse.New(logparse.Options{})
		e.ProcessFrom(line2(p, infoKind(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC), 3), "y"), 0)
		e.ProcessFrom(line2(p, "[05/Jan/2026 12:00:00] 10.0.0.7 bob executed command 'git pull origin b1'", "z"), 0)
		e.FleetSnapshot()
		e.PartitionUsers(0)
	})
}
