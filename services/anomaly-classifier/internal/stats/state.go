package stats

import (
	"container/list"
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Snapshot writes the fleet part of the baselines (network popularity) into fs and
// returns the users' baselines, least recently seen first.
func (b *Baselines) Snapshot(fs *logwardenpb.FleetState) []*logwardenpb.UserState {
	fs.Networks = make(map[string]string, len(b.nets))
	for n, u := range b.nets {
		fs.Networks[n] = u
	}
	fs.StatsEvents = int64(b.seen)
	users := make([]*logwardenpb.UserState, 0, len(b.ents))
	for el := b.lru.Back(); el != nil; el = el.Prev() {
		users = append(users, el.Value.(*entity).state())
	}
	return users
}

func (e *entity) state() *logwardenpb.UserState {
	us := &logwardenpb.UserState{User: e.key, Events: int64(e.events), Hours: append([]int32(nil), e.hours[:]...), Adopted: e.adopted}
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

// Restore replaces the baselines by fs's fleet part and users (least recently seen
// first; beyond max_entities the oldest are dropped). On an error nothing changes.
func (b *Baselines) Restore(fs *logwardenpb.FleetState, users []*logwardenpb.UserState) error {
	ents := make(map[string]*entity, len(users))
	lru := list.New()
	for i, us := range users {
		switch {
		case us.GetUser() == "":
			return fmt.Errorf("user state %d: empty user", i)
		case len(us.GetHours()) != 24:
			return fmt.Errorf("user %s: %d hours, want 24", us.GetUser(), len(us.GetHours()))
		}
		e := &entity{key: strings.Clone(us.GetUser()), events: int(us.GetEvents()), nets: map[string]struct{}{}, held: map[string]int{},
			seen: map[uint64]struct{}{}, rates: map[string]*rate{}, adopted: us.GetAdopted()}
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
