package novelty

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

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

// MergeFleet adds another instance's knowledge of templates to this one's and returns
// the templates it did not know: the union of templates; for a template both know, the
// larger count, the earlier first line, the higher level, the stronger acceptance and
// the union of the hours and days it was seen in while learning (then accepted when
// the union is enough). The warm-up is over when it is over for either; events seen is
// the larger, the start the earlier. The merge is commutative and idempotent (within
// template.max_known). An invalid entry is skipped (the last one is the error).
func (d *Templates) MergeFleet(fs *logwardenpb.FleetState) (added int, err error) {
	for _, k := range fs.GetKnown() {
		switch {
		case k.GetId() == "":
			err = fmt.Errorf("known template: empty id")
			continue
		case k.GetAccepted() > Person:
			err = fmt.Errorf("known template %s: accepted %d, want 0..%d", k.GetId(), k.GetAccepted(), Person)
			continue
		}
		hours, days := k.GetHours(), k.GetDays()
		if len(hours) > maxStateHours || len(days) > maxStateHours {
			hours, days = hours[:min(len(hours), maxStateHours)], days[:min(len(days), maxStateHours)]
		}
		mine, ok := d.known.Peek(k.GetId())
		if !ok {
			added++
			mine = &Known{Count: k.GetCount(), First: k.GetFirst(), Level: k.GetLevel(), Accepted: uint8(k.GetAccepted())}
			d.known.Put(strings.Clone(k.GetId()), mine)
		} else {
			mine.Count = max(mine.Count, k.GetCount())
			mine.First = minStart(mine.First, k.GetFirst())
			mine.Level = max(mine.Level, k.GetLevel())
			mine.Accepted = max(mine.Accepted, uint8(k.GetAccepted()))
		}
		if mine.Accepted != Learning || mine.Level >= logwardenpb.LogLevel_LOG_LEVEL_CRITICAL {
			mine.Hours, mine.Days = nil, nil
			continue
		}
		for _, h := range hours {
			mine.Hours = addDistinct(mine.Hours, h, d.cfg.AcceptHours)
		}
		for _, x := range days {
			mine.Days = addDistinct(mine.Days, x, d.cfg.AcceptDays)
		}
		if len(mine.Hours) >= d.cfg.AcceptHours || len(mine.Days) >= d.cfg.AcceptDays ||
			(mine.Count >= int64(d.cfg.AcceptLines) && len(mine.Hours) >= 2) {
			mine.Accepted, mine.Hours, mine.Days = Routine, nil, nil
		}
	}
	// the fleet's warm-up made its templates the baseline; this instance's own
	// templates not in it are new to the fleet and stay learning
	d.warm = d.warm || fs.GetWarm()
	d.seen = max(d.seen, fs.GetEvents())
	d.start = minStart(d.start, fs.GetStart())
	return added, err
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

// MergeFleet adds another instance's host and (host, template) counts to this one's
// (the pairs only when withHashes: they were hashed with this instance's key), each the
// larger of both. The merge is commutative and idempotent.
func (d *Rare) MergeFleet(fs *logwardenpb.FleetState, withHashes bool) {
	for _, h := range fs.GetHosts() {
		if n, ok := d.hosts.Peek(h.GetName()); !ok {
			d.hosts.Put(strings.Clone(h.GetName()), max(h.GetCount(), 0))
		} else if h.GetCount() > n {
			d.hosts.Put(h.GetName(), h.GetCount())
		}
	}
	if !withHashes {
		return
	}
	for _, p := range fs.GetRarePairs() {
		c := int32(min(max(p.GetCount(), 0), 1<<30))
		if n, ok := d.pairs.Peek(p.GetHash()); !ok || c > n {
			d.pairs.Put(p.GetHash(), c)
		}
	}
}

// ForgetHashes drops the (host, template) counts (hashed with a key no longer in use).
func (d *Rare) ForgetHashes() { d.pairs = detect.NewGen[uint64, int32](d.cfg.MaxPairs) }

// Users returns every user's command history.
func (d *Commands) Users() []*logwardenpb.UserCommands {
	var out []*logwardenpb.UserCommands
	d.users.All(func(name string, u *User) bool {
		out = append(out, u.state(name))
		return true
	})
	return out
}

func (u *User) state(name string) *logwardenpb.UserCommands {
	uc := &logwardenpb.UserCommands{User: name, Commands: u.Commands, First: u.First}
	if u.Partition >= 0 {
		uc.Partition = proto.Int32(u.Partition)
	}
	for i, e := range u.Exes {
		if e != "" {
			uc.Usual = append(uc.Usual, &logwardenpb.NamedCount{Name: e, Count: int64(u.Counts[i])})
		}
	}
	return uc
}

func userOf(uc *logwardenpb.UserCommands) *User {
	u := &User{Commands: uc.GetCommands(), First: uc.GetFirst(), Partition: -1}
	if uc.Partition != nil {
		u.Partition = uc.GetPartition()
	}
	for i, e := range uc.GetUsual() {
		if i == usualKept {
			break
		}
		u.Exes[i], u.Counts[i] = strings.Clone(e.GetName()), int32(min(max(e.GetCount(), 0), 1<<30))
	}
	return u
}

// SnapshotFleet writes what the detector learnt of the fleet into fs: executables,
// (user, shape) hashes, commands seen. The users' histories belong to their partitions
// (PartitionUsers).
func (d *Commands) SnapshotFleet(fs *logwardenpb.FleetState) {
	fs.CommandsSeen, fs.CommandsStart = d.seen, d.start
	d.exes.All(func(e string, n int64) bool {
		fs.Executables = append(fs.Executables, &logwardenpb.NamedCount{Name: e, Count: n})
		return true
	})
	d.shapes.All(func(k uint64, _ struct{}) bool {
		fs.Shapes = append(fs.Shapes, k)
		return true
	})
}

// PartitionUsers returns the command histories of the users whose events came from
// partition.
func (d *Commands) PartitionUsers(partition int32) []*logwardenpb.UserCommands {
	var out []*logwardenpb.UserCommands
	d.users.All(func(name string, u *User) bool {
		if u.Partition == partition {
			out = append(out, u.state(name))
		}
		return true
	})
	return out
}

// RestoreUsers puts the command histories of users in place of those the detector has
// for them.
func (d *Commands) RestoreUsers(users []*logwardenpb.UserCommands) {
	for _, uc := range users {
		if uc.GetUser() != "" {
			d.users.Put(strings.Clone(uc.GetUser()), userOf(uc))
		}
	}
}

// MergeFleet adds another instance's view of the fleet's commands to this one's (the
// shapes only when withHashes: they were hashed with this instance's key): the union of
// executables with the larger count, the union of shapes, the larger number of commands
// seen and the earlier start. It returns the executables it did not know. The merge is
// commutative and idempotent.
func (d *Commands) MergeFleet(fs *logwardenpb.FleetState, withHashes bool) (added int) {
	for _, e := range fs.GetExecutables() {
		n, ok := d.exes.Peek(e.GetName())
		if !ok {
			added++
			d.exes.Put(strings.Clone(e.GetName()), max(e.GetCount(), 0))
		} else if e.GetCount() > n {
			d.exes.Put(e.GetName(), e.GetCount())
		}
	}
	if withHashes {
		for _, k := range fs.GetShapes() {
			if _, ok := d.shapes.Peek(k); !ok {
				d.shapes.Put(k, struct{}{})
			}
		}
	}
	d.seen = max(d.seen, fs.GetCommandsSeen())
	d.start = minStart(d.start, fs.GetCommandsStart())
	return added
}

// ForgetHashes drops the shape hashes (made with a key no longer in use).
func (d *Commands) ForgetHashes() { d.shapes = detect.NewGen[uint64, struct{}](d.cfg.MaxShapes) }

// minStart is the earlier of two start times, 0 meaning none.
func minStart(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
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
		users.Put(strings.Clone(uc.GetUser()), userOf(uc))
	}
	d.exes, d.shapes, d.users, d.seen, d.start = exes, shapes, users, fs.GetCommandsSeen(), fs.GetCommandsStart()
	return nil
}
