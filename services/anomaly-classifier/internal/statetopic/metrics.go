package statetopic

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

type metrics struct {
	read, written, saves, merges, restores *prometheus.CounterVec
	saveBytes, loadSeconds                 prometheus.Gauge
	saveSeconds                            prometheus.Histogram
	loadBytes                              *counter
}

// counter is a float counter readable without the registry.
type counter struct{ bits atomic.Uint64 }

func (c *counter) add(n int) {
	for {
		old := c.bits.Load()
		if c.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+float64(n))) {
			return
		}
	}
}

func (c *counter) get() float64 { return math.Float64frombits(c.bits.Load()) }

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_records_read_total",
			Help: "Records read from the state topic, by kind (meta, fleet: merged, own: this instance's fleet records, users, tombstone, invalid)."}, []string{"kind"}),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_records_written_total",
			Help: "Records written to the state topic, by kind (meta, fleet, users, tombstone; users_moved: a partition's users not written because another replica saved them at a later offset)."}, []string{"kind"}),
		saves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_topic_saves_total",
			Help: "Saves of the learnt state to the state topic, by outcome."}, []string{"outcome"}),
		merges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_merged_total",
			Help: "What the other replicas' fleet records taught this one, by kind (templates, known_templates, rates, executables, networks)."}, []string{"kind"}),
		restores: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_state_user_restores_total",
			Help: "Looks for a partition's saved users when the partition reached this instance, by outcome (found, none, incomplete, invalid, error)."}, []string{"outcome"}),
		saveBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logwarden_state_topic_bytes",
			Help: "Bytes (keys and values) of the records of the last save to the state topic."}),
		loadSeconds: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logwarden_state_load_seconds",
			Help: "Time from start until the state topic was read to its end and merged."}),
		saveSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logwarden_state_save_seconds",
			Help: "Time of one save to the state topic (catching up with it included).", Buckets: prometheus.ExponentialBuckets(0.01, 4, 8)}),
		loadBytes: &counter{},
	}
	if reg != nil {
		reg.MustRegister(m.read, m.written, m.saves, m.merges, m.restores, m.saveBytes, m.loadSeconds, m.saveSeconds,
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "logwarden_state_read_bytes_total",
				Help: "Bytes (keys and values) read from the state topic."}, m.loadBytes.get))
	}
	return m
}

func (m metrics) merged(z engine.Merged) {
	for k, n := range map[string]int{"templates": z.Templates, "known_templates": z.Known, "rates": z.Rates, "executables": z.Executables, "networks": z.Networks} {
		if n > 0 {
			m.merges.WithLabelValues(k).Add(float64(n))
		}
	}
}
