package novelty

import (
	"fmt"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// maxStateHours bounds the hours and days a restored template may carry.
const maxStateHours = 1024

// Snapshot writes what the detector learnt into fs (least recently seen first).
func (d *Templates) Snapshot(fs *logwardenpb.FleetState) {
	fs.Warm, fs.Events, fs.Start = d.warm, d.seen, d.start
	d.known.All(func(id string, k *Known) bool {
		fs.Known = append(fs.Known, &logwardenpb.TemplateKnowledge{Id: id, Count: k.Count, First: k.First, Level: k.Level,
			Accepted: uint32(k.Accepted), Hours: k.Hours, Days: k.Days})
		return true
	})
}

// Restore replaces what the detector knows by fs. On an error nothing changes.
func (d *Templates) Restore(fs *logwardenpb.FleetState) error {
	known := detect.NewGen[string, *Known](d.cfg.MaxTemplates)
	for i, k := range fs.GetKnown() {
		switch {
		case k.GetId() == "":
			return fmt.Errorf("known template %d: empty id", i)
		case k.GetAccepted() > Person:
			return fmt.Errorf("known template %s: accepted %d, want 0..%d", k.GetId(), k.GetAccepted(), Person)
		case len(k.GetHours()) > maxStateHours || len(k.GetDays()) > maxStateHours:
			return fmt.Errorf("known template %s: %d hours, %d days", k.GetId(), len(k.GetHours()), len(k.GetDays()))
		}
		known.Put(strings.Clone(k.GetId()), &Known{Count: k.GetCount(), First: k.GetFirst(), Level: k.GetLevel(),
			Accepted: uint8(k.GetAccepted()), Hours: k.GetHours(), Days: k.GetDays()})
	}
	d.known, d.warm, d.seen, d.start = known, fs.GetWarm(), fs.GetEvents(), fs.GetStart()
	return nil
}

// Learnt ends the warm-up and makes every template known so far the baseline: the
// events came from known-good logs (anomaly-classifier learn).
func (d *Templates) Learnt() {
	d.AcceptAll()
	d.warm = true
}

// Snapshot writes the host and (host, template) counts into fs.
func (d *Rare) Snapshot(fs *logwardenpb.FleetState) {
	d.hosts.All(func(h string, n int64) bool {
		fs.Hosts = append(fs.Hosts, &logwardenpb.NamedCount{Name: h, Count: n})
		return true
	})
	d.pairs.All(func(k uint64, n int32) bool {
		fs.RarePairs = append(fs.RarePairs, &logwardenpb.HashedCount{Hash: k, Count: int64(n)})
		return true
	})
}

// Restore replaces the counts by those of fs (hashed with fs's key).
func (d *Rare) Restore(fs *logwardenpb.FleetState) error {
	hosts := detect.NewGen[string, int64](d.cfg.MaxPairs / 4)
	pairs := detect.NewGen[uint64, int32](d.cfg.MaxPairs)
	for _, h := range fs.GetHosts() {
		hosts.Put(strings.Clone(h.GetName()), max(h.GetCount(), 0))
	}
	for _, p := range fs.GetRarePairs() {
		pairs.Put(p.GetHash(), int32(min(max(p.GetCount(), 0), 1<<30)))
	}
	d.hosts, d.pairs = hosts, pairs
	return nil
}

// Snapshot writes the fleet's executables, the (user, shape) hashes and the users'
// usual executables into fs.
func (d *Commands) Snapshot(fs *logwardenpb.FleetState) {
	fs.CommandsSeen, fs.CommandsStart = d.seen, d.start
	d.exes.All(func(e string, n int64) bool {
		fs.Executables = append(fs.Executables, &logwardenpb.NamedCount{Name: e, Count: n})
		return true
	})
	d.shapes.All(func(k uint64, _ struct{}) bool {
		fs.Shapes = append(fs.Shapes, k)
		return true
	})
	d.users.All(func(name string, u *User) bool {
		uc := &logwardenpb.UserCommands{User: name, Commands: u.Commands, First: u.First}
		for i, e := range u.Exes {
			if e != "" {
				uc.Usual = append(uc.Usual, &logwardenpb.NamedCount{Name: e, Count: int64(u.Counts[i])})
			}
		}
		fs.CommandUsers = append(fs.CommandUsers, uc)
		return true
	})
}

// Restore replaces what the detector learnt by fs (hashed with fs's key).
func (d *Commands) Restore(fs *logwardenpb.FleetState) error {
	exes := detect.NewGen[string, int64](d.cfg.MaxExecutables)
	shapes := detect.NewGen[uint64, struct{}](d.cfg.MaxShapes)
	users := detect.NewGen[string, *User](d.cfg.MaxUsers)
	for _, e := range fs.GetExecutables() {
		exes.Put(strings.Clone(e.GetName()), e.GetCount())
	}
	for _, k := range fs.GetShapes() {
		shapes.Put(k, struct{}{})
	}
	for _, uc := range fs.GetCommandUsers() {
		u := &User{Commands: uc.GetCommands(), First: uc.GetFirst()}
		for i, e := range uc.GetUsual() {
			if i == usualKept {
				break
			}
			u.Exes[i], u.Counts[i] = strings.Clone(e.GetName()), int32(min(max(e.GetCount(), 0), 1<<30))
		}
		users.Put(strings.Clone(uc.GetUser()), u)
	}
	d.exes, d.shapes, d.users, d.seen, d.start = exes, shapes, users, fs.GetCommandsSeen(), fs.GetCommandsStart()
	return nil
}
