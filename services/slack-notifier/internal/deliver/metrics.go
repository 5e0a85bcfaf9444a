package deliver

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the notifier's numbers.
type Metrics struct {
	Posts    *prometheus.CounterVec
	Groups   prometheus.Gauge
	Backlog  *prometheus.GaugeVec
	Folded   prometheus.Counter
	Silenced prometheus.Counter
}

// NewMetrics registers the metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Posts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_slack_posts_total",
			Help: "Notification attempts by outcome (ok, retry, rate_limited, failed, dead_letter)."}, []string{"outcome"}),
		Groups: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logwarden_notifier_groups", Help: "Alert groups held open."}),
		Backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "logwarden_notifier_backlog",
			Help: "Notifications queued per destination, waiting for their turn at the rate limit."}, []string{"destination"}),
		Folded: prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_notifier_folded_total",
			Help: `Notifications folded into an "N more alerts" message because their destination's backlog was full.`}),
		Silenced: prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_notifier_silenced_total",
			Help: "Alerts acknowledged without being posted because a silence covered them."}),
	}
	if reg != nil {
		reg.MustRegister(m.Posts, m.Groups, m.Backlog, m.Folded, m.Silenced)
	}
	return m
}

func (m *Metrics) folded(n int) {
	if n > 0 {
		m.Folded.Add(float64(n))
	}
}
