package engine

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// What is shared between the replicas of the service (the state topic): the fleet's
// knowledge (templates, their history and rates, executables, hosts, network
// popularity), which every replica merges from the others, and each user's state,
// which belongs to the partition of the input topic its events come from.

// HashKey is the key of the engine's keyed hashes.
func (e *Engine) HashKey() []byte { return e.hash.Key() }

// SetHashKey makes key the key of the engine's keyed hashes. When it differs from the
// current one, what was hashed with the old key (command shapes, rare-template
// counts, users' directories) is forgotten: those hashes cannot be found again.
func (e *Engine) SetHashKey(key []byte) error {
	if len(key) == 0 || len(key) > 64 {
		return fmt.Errorf("hash key of %d bytes, want 1..64", len(key))
	}
	if bytes.Equal(key, e.hash.Key()) {
		return nil
	}
	e.hash.SetKey(key)
	e.rare.ForgetHashes()
	e.commands.ForgetHashes()
	e.stats.ForgetHashes()
	return nil
}

// FleetSnapshot returns what the engine learnt of the fleet: Snapshot's FleetState
// without the users' command histories (PartitionUsers has them).
func (e *Engine) FleetSnapshot() *logwardenpb.FleetState {
	fs := &logwardenpb.FleetState{HashKey: e.hash.Key()}
	for _, t := range e.miner.Snapshot() {
		mt := &logwardenpb.MinedTemplate{Id: t.ID, Template: t.Template, Count: t.Count}
		for _, g := range t.Generalised {
			mt.Generalised = append(mt.Generalised, uint32(g))
		}
		fs.Templates = append(fs.Templates, mt)
	}
	e.templates.Snapshot(fs)
	e.rare.Snapshot(fs)
	e.commands.SnapshotFleet(fs)
	e.rates.Snapshot(fs)
	e.errors.Snapshot(fs)
	e.stats.SnapshotFleet(fs)
	return fs
}

// Merged counts what a MergeFleet added that the engine did not know.
type Merged struct {
	Templates, Known, Rates, Executables, Networks int
}

// MergeFleet adds another instance's knowledge of the fleet (its FleetSnapshot, or a
// shard of it) to the engine's: templates, their history (a template any instance
// learnt is not new here) and rates, executables, host counts, network popularity
// (a network two users used anywhere is common). Hashed parts are merged only when
// fs was hashed with the engine's key. Each detector's merge is commutative and
// idempotent, so instances that merge each other's views converge without a leader;
// every part stays within its bound. Invalid parts are skipped and reported in the
// error; the rest is merged.
func (e *Engine) MergeFleet(fs *logwardenpb.FleetState) (Merged, error) {
	var m Merged
	var errs []error
	hashed := bytes.Equal(fs.GetHashKey(), e.hash.Key())
	mined := minedTemplates(fs)
	var err error
	if m.Templates, err = e.miner.Merge(mined); err != nil {
		errs = append(errs, fmt.Errorf("templates: %w", err))
	}
	if m.Known, err = e.templates.MergeFleet(fs); err != nil {
		errs = append(errs, fmt.Errorf("known templates: %w", err))
	}
	if m.Rates, err = e.rates.MergeFleet(fs); err != nil {
		errs = append(errs, fmt.Errorf("template rates: %w", err))
	}
	e.rare.MergeFleet(fs, hashed)
	m.Executables = e.commands.MergeFleet(fs, hashed)
	e.errors.MergeFleet(fs)
	m.Networks = e.stats.MergeFleet(fs)
	return m, errors.Join(errs...)
}

// PartitionUsers returns the state of the users whose events came from partition of
// the input topic: their baselines and command histories, and the key their hashes
// were made with.
func (e *Engine) PartitionUsers(partition int32) (users []*logwardenpb.UserState, commands []*logwardenpb.UserCommands) {
	return e.stats.PartitionUsers(partition), e.commands.PartitionUsers(partition)
}

// RestoreUsers puts the state of users (from PartitionUsers, hashed with key) in
// place of what the engine has for them. Their directories are left out when key is
// not the engine's. On an error (naming the bad user) the engine is unchanged.
func (e *Engine) RestoreUsers(key []byte, users []*logwardenpb.UserState, commands []*logwardenpb.UserCommands) error {
	if err := e.stats.RestoreUsers(users, bytes.Equal(key, e.hash.Key())); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	e.commands.RestoreUsers(commands)
	return nil
}
