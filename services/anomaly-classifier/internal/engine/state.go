package engine

import (
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// StateVersion is the version of the EngineState this engine writes and reads.
const StateVersion = 1

// Snapshot returns what the engine learnt (templates, their history and rates,
// executables, hosts, users' baselines) as an EngineState; saved_at is now, given
// by the caller. Rule windows, alert episodes and silences are not kept: they span
// minutes and are rebuilt from the stream.
func (e *Engine) Snapshot(now *timestamppb.Timestamp) *logwardenpb.EngineState {
	fs := e.FleetSnapshot()
	fs.CommandUsers = e.commands.Users()
	return &logwardenpb.EngineState{Version: StateVersion, SavedAt: now, Fleet: fs, Users: e.stats.Users()}
}

// Restore replaces what the engine learnt by st. The state is checked first: on an
// error (naming what is wrong) the detectors that were restored keep the new state
// and the others the old one, so callers start a fresh engine when it fails.
func (e *Engine) Restore(st *logwardenpb.EngineState) error {
	if v := st.GetVersion(); v != StateVersion {
		return fmt.Errorf("state version %d, this engine reads %d", v, StateVersion)
	}
	fs := st.GetFleet()
	if fs == nil {
		fs = &logwardenpb.FleetState{}
	}
	if k := fs.GetHashKey(); len(k) > 0 {
		if len(k) > 64 {
			return fmt.Errorf("state hash key of %d bytes", len(k))
		}
		e.hash.SetKey(k)
	}
	mined := minedTemplates(fs)
	if err := e.miner.Restore(mined); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	for name, r := range map[string]func(*logwardenpb.FleetState) error{"known templates": e.templates.Restore,
		"rare templates": e.rare.Restore, "commands": e.commands.Restore, "template rates": e.rates.Restore, "error volumes": e.errors.Restore} {
		if err := r(fs); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := e.stats.Restore(fs, st.GetUsers()); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	return nil
}

// Learnt marks everything seen so far as the baseline: the events came from
// known-good logs (anomaly-classifier learn), so their templates are not new and
// the warm-up is over.
func (e *Engine) Learnt() { e.templates.Learnt() }

// Sizes reports how much the engine holds, by kind (for metrics and docs).
type Sizes struct {
	Templates, KnownTemplates, Users, Executables int
	// Forgotten to stay within the bounds (LRU) since start.
	KnownEvicted int
}

// Sizes returns the engine's sizes.
func (e *Engine) Sizes() Sizes {
	return Sizes{Templates: e.miner.Len(), KnownTemplates: e.templates.Len(), Users: e.stats.Len(),
		Executables: e.commands.Executables(), KnownEvicted: e.templates.Evicted()}
}

// minedTemplates converts the miner's templates of a state record.
func minedTemplates(fs *logwardenpb.FleetState) []template.TemplateState {
	mined := make([]template.TemplateState, 0, len(fs.GetTemplates()))
	for _, t := range fs.GetTemplates() {
		ts := template.TemplateState{ID: t.GetId(), Template: t.GetTemplate(), Count: t.GetCount()}
		for _, g := range t.GetGeneralised() {
			ts.Generalised = append(ts.Generalised, int(g))
		}
		mined = append(mined, ts)
	}
	return mined
}
