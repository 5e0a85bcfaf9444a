package stats

import (
	"container/list"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Users returns the users' baselines, least recently seen first.
func (b *Baselines) Users() []*logwardenpb.UserState {
	users := make([]*logwardenpb.UserState, 0, len(b.ents))
	for el := b.lru.Back(); el != nil; el = el.Prev() {
		users = append(users, el.Value.(*entity).state())
	}
	return users
}

// SnapshotFleet writes the fleet part of the baselines (network popularity, events
// seen) into fs.
func (b *Baselines) SnapshotFleet(fs *logwardenpb.FleetState) {
	fs.Networks = make(map[string]string, len(b.nets))
	for n, u := range b.nets {
		fs.Networks[n] = u
	}
	fs.StatsEvents = int64(b.seen)
}

// PartitionUsers returns the baselines of the users whose events came from partition,
// least recently seen first.
func (b *Baselines) PartitionUsers(partition int32) []*logwardenpb.UserState {
	var users []*logwardenpb.UserState
	for el := b.lru.Back(); el != nil; el = el.Prev() {
		if e := el.Value.(*entity); e.part == partition {
			users = append(users, e.state())
		}
	}
	return users
}

func (e *entity) state() *logwardenpb.UserState {
	us := &logwardenpb.UserState{User: e.key, Events: int64(e.events), Hours: append([]int32(nil), e.hours[:]...), Adopted: e.adopted}
	if e.part >= 0 {
		us.Partition = proto.Int32(e.part)
	}
	if !e.first.IsZero() {
		us.First = e.first.Unix()
	}
	for ip := range e.nets {
		us.Addresses = append(us.Addresses, ip)
	}
	if len(e.held) > 0 {
		us.Held = make(map[string]int32, len(e.held))
		for k, n := range e.held {
			us.Held[k] = int32(n)
		}
	}
	for k := range e.seen {
		us.Directories = append(us.Directories, k)
	}
	for a, r := range e.rates {
		us.Rates = append(us.Rates, &logwardenpb.ActionRate{Action: a, Bucket: r.bucket, Count: int32(r.count), Ewma: r.ewma, Fired: r.fired})
	}
	return us
}

// entity builds the baseline of us, checked and bounded by the configuration.
func (b *Baselines) entity(i int, us *logwardenpb.UserState) (*entity, error) {
	switch {
	case us.GetUser() == "":
		return nil, fmt.Errorf("user state %d: empty user", i)
	case len(us.GetHours()) != 24:
		return nil, fmt.Errorf("user %s: %d hours, want 24", us.GetUser(), len(us.GetHours()))
	}
	e := &entity{key: strings.Clone(us.GetUser()), events: int(us.GetEvents()), nets: map[string]struct{}{}, held: map[string]int{},
		seen: map[uint64]struct{}{}, rates: map[string]*rate{}, adopted: us.GetAdopted(), part: -1}
	if us.Partition != nil {
		e.part = us.GetPartition()
	}
	if us.GetFirst() != 0 {
		e.first = time.Unix(us.GetFirst(), 0).UTC()
	}
	copy(e.hours[:], us.GetHours())
	for _, ip := range us.GetAddresses() {
		if len(e.nets) < b.cfg.MaxValues {
			e.nets[strings.Clone(ip)] = struct{}{}
		}
	}
	for k, n := range us.GetHeld() {
		if len(e.held) < b.cfg.MaxValues {
			e.held[strings.Clone(k)] = int(n)
		}
	}
	for _, k := range us.GetDirectories() {
		if len(e.seen) < 4*b.cfg.MaxValues {
			e.seen[k] = struct{}{}
		}
	}
	for _, r := range us.GetRates() {
		if len(e.rates) < 16 {
			e.rates[strings.Clone(r.GetAction())] = &rate{bucket: r.GetBucket(), count: int(r.GetCount()), ewma: r.GetEwma(), fired: r.GetFired()}
		}
	}
	return e, nil
}

// Restore replaces the baselines by fs's fleet part and users (least recently seen
// first; beyond max_entities the oldest are dropped). On an error nothing changes.
func (b *Baselines) Restore(fs *logwardenpb.FleetState, users []*logwardenpb.UserState) error {
	ents := make(map[string]*entity, len(users))
	lru := list.New()
	for i, us := range users {
		e, err := b.entity(i, us)
		if err != nil {
			return err
		}
		if old := ents[e.key]; old != nil {
			lru.Remove(old.elem)
		}
		e.elem = lru.PushFront(e)
		ents[e.key] = e
		if len(ents) > b.cfg.MaxEntities {
			oldest := lru.Back().Value.(*entity)
			lru.Remove(oldest.elem)
			delete(ents, oldest.key)
		}
	}
	nets := make(map[string]string, len(fs.GetNetworks()))
	for n, u := range fs.GetNetworks() {
		if len(nets) < 16*b.cfg.MaxEntities {
			nets[strings.Clone(n)] = strings.Clone(u)
		}
	}
	b.ents, b.lru, b.nets, b.seen = ents, lru, nets, int(fs.GetStatsEvents())
	return nil
}

// RestoreUsers puts the baselines of users (least recently seen first) in place of
// those the instance has for them, as the most recently seen; beyond max_entities the
// least recently seen users are dropped. withHashes false: their directories were
// hashed with another key and are left out. On an error nothing changes.
func (b *Baselines) RestoreUsers(users []*logwardenpb.UserState, withHashes bool) error {
	ents := make([]*entity, 0, len(users))
	for i, us := range users {
		e, err := b.entity(i, us)
		if err != nil {
			return err
		}
		if !withHashes {
			clear(e.seen)
		}
		ents = append(ents, e)
	}
	for _, e := range ents {
		if old := b.ents[e.key]; old != nil {
			b.lru.Remove(old.elem)
		}
		e.elem = b.lru.PushFront(e)
		b.ents[e.key] = e
		if len(b.ents) > b.cfg.MaxEntities {
			oldest := b.lru.Back().Value.(*entity)
			b.lru.Remove(oldest.elem)
			delete(b.ents, oldest.key)
		}
	}
	return nil
}

// MergeFleet adds another instance's network popularity to this one's and returns the
// networks it did not know: a network is common once two users used it anywhere in the
// fleet. Events seen is the larger of both. The merge is commutative and idempotent.
func (b *Baselines) MergeFleet(fs *logwardenpb.FleetState) (added int) {
	for n, u := range fs.GetNetworks() {
		mine, ok := b.nets[n]
		switch {
		case !ok:
			if len(b.nets) < 16*b.cfg.MaxEntities {
				b.nets[strings.Clone(n)] = strings.Clone(u)
				added++
			}
		case mine != "" && mine != u:
			b.nets[n] = "" // two users, or one side knew two already
		}
	}
	b.seen = max(b.seen, int(fs.GetStatsEvents()))
	return added
}

// ForgetHashes drops the users' directory hashes (made with a key no longer in use).
func (b *Baselines) ForgetHashes() {
	for _, e := range b.ents {
		clear(e.seen)
	}
}
