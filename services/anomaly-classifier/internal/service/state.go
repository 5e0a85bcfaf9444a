package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/state"
)

// StateStore keeps the engine's learnt state in a file (state_file): loaded at
// start, saved every interval and when the service stops, so a restart starts
// warm (the replay of replay_events still rebuilds rule windows and the users of
// a partition that moved here).
type StateStore struct {
	File     string
	Interval time.Duration
	eng      *engine.Engine
	h        *Handler
	log      *zap.Logger
	saves    *prometheus.CounterVec
	bytes    prometheus.Gauge
}

// NewStateStore builds the store of eng, whose batches h runs; reg may be nil.
func NewStateStore(file string, interval time.Duration, eng *engine.Engine, h *Handler, reg prometheus.Registerer, log *zap.Logger) *StateStore {
	s := &StateStore{File: file, Interval: interval, eng: eng, h: h, log: log,
		saves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_saves_total",
			Help: "Saves of the learnt state to state_file, by outcome."}, []string{"outcome"}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logwarden_state_bytes", Help: "Size of the last state saved."}),
	}
	if reg != nil {
		reg.MustRegister(s.saves, s.bytes)
	}
	return s
}

// registerStateSizes exports how much the engine holds (reg may be nil).
func registerStateSizes(reg prometheus.Registerer, eng *engine.Engine, h *Handler) {
	if reg == nil {
		return
	}
	size := func(name, help string, get func(engine.Sizes) int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			var n int
			h.locked(func() { n = get(eng.Sizes()) })
			return float64(n)
		})
	}
	reg.MustRegister(
		size("logwarden_state_templates", "Templates the miner holds (bounded by template.max_clusters, LRU).", func(z engine.Sizes) int { return z.Templates }),
		size("logwarden_state_known_templates", "Templates whose history the new-template detector keeps (template.max_known, LRU).", func(z engine.Sizes) int { return z.KnownTemplates }),
		size("logwarden_state_known_evicted", "Template histories forgotten to stay within template.max_known since start.", func(z engine.Sizes) int { return z.KnownEvicted }),
		size("logwarden_state_users", "Users with a baseline (stats.max_entities, LRU).", func(z engine.Sizes) int { return z.Users }),
		size("logwarden_state_executables", "Executables remembered for the fleet (commands.max_executables, LRU).", func(z engine.Sizes) int { return z.Executables }))
}

// Load restores the state from the file; a missing file is a cold start.
func (s *StateStore) Load() error {
	start := time.Now()
	st, err := state.ReadFile(s.File)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Info("no state file yet: starting cold", zap.String("state_file", s.File))
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.eng.Restore(st); err != nil {
		return fmt.Errorf("state %s: %w", s.File, err)
	}
	z := s.eng.Sizes()
	s.log.Info("state loaded", zap.String("state_file", s.File), zap.Int("templates", z.Templates), zap.Int("users", z.Users),
		zap.Time("saved_at", st.GetSavedAt().AsTime()), zap.Duration("took", time.Since(start)))
	return nil
}

// Save writes the state (the snapshot is taken between batches).
func (s *StateStore) Save() error {
	snap := s.snapshot()
	n, err := state.WriteFile(s.File, snap)
	if err != nil {
		s.saves.WithLabelValues("error").Inc()
		return err
	}
	s.saves.WithLabelValues("ok").Inc()
	s.bytes.Set(float64(n))
	return nil
}

func (s *StateStore) snapshot() (st *logwardenpb.EngineState) {
	s.h.locked(func() { st = s.eng.Snapshot(timestamppb.Now()) })
	return st
}

// Run saves every Interval until ctx ends, then once more (between batches: a
// batch in hand finishes first).
func (s *StateStore) Run(ctx context.Context) error {
	if s.Interval > 0 {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-t.C:
				if err := s.Save(); err != nil {
					s.log.Warn("saving the state failed; the previous one stays", zap.Error(err))
				}
			}
		}
	} else {
		<-ctx.Done()
	}
	if err := s.Save(); err != nil {
		s.log.Warn("saving the state at exit failed; the previous one stays", zap.Error(err))
		return nil
	}
	s.log.Info("state saved", zap.String("state_file", s.File))
	return nil
}

// locked runs fn while no batch is being classified.
func (h *Handler) locked(fn func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn()
}
