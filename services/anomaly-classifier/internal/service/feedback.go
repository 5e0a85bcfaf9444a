package service

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/feedback"
)

// Acceptances tells whether people marked an alert's pattern "not an issue"
// (feedback.Set).
type Acceptances interface {
	Accepted(a *logwardenpb.Alert, now time.Time) (*feedback.Acceptance, bool)
}

// Feedback drops the alerts whose pattern people accepted: the classifier's side of
// the notifier's "Not an issue" button. It works on the engine's output, so it covers
// every detector, and the scope is the person's (one user and command shape, or one
// template on one host), narrower than the engine's own template acceptance.
type Feedback struct {
	set        Acceptances
	suppressed *prometheus.CounterVec
}

// NewFeedback filters with set and counts on reg (nil: unregistered).
func NewFeedback(set Acceptances, reg prometheus.Registerer) *Feedback {
	f := &Feedback{set: set, suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_alerts_suppressed_total",
		Help: "Alerts not published because people marked their pattern not an issue, by detector."}, []string{"detector"})}
	if reg != nil {
		reg.MustRegister(f.suppressed)
	}
	return f
}

// suppress drops from rs the alerts whose pattern is accepted, each with a log line
// (the audit trail names the feedback and who gave it). Verdicts stay as they are.
func (h *Handler) suppress(rs []result) []result {
	if h.feedback == nil {
		return rs
	}
	now := h.now()
	for i := range rs {
		kept := rs[i].alerts[:0]
		for _, a := range rs[i].alerts {
			acc, ok := h.feedback.set.Accepted(a, now)
			if !ok {
				kept = append(kept, a)
				continue
			}
			det := a.GetFindings()[0].GetDetector()
			h.feedback.suppressed.WithLabelValues(det).Inc()
			h.log.Info("alert suppressed: its pattern was marked not an issue", zap.String("alert", a.GetId()),
				zap.String("fingerprint", a.GetFingerprint()), zap.String("feedback", acc.ID), zap.String("by", acc.By),
				zap.String("scope", acc.Scope.String()), zap.Time("until", acc.Expires))
		}
		rs[i].alerts = kept
	}
	return rs
}

// registerFeedbackMetrics counts feedback records by kind and the acceptances in force.
func registerFeedbackMetrics(reg prometheus.Registerer, set *feedback.Set) {
	records := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_feedback_records_total",
		Help: "Records read from the feedback topic, by kind (not_an_issue, acknowledged, revoked, invalid)."}, []string{"kind"})
	set.OnRecord = func(kind string) { records.WithLabelValues(kind).Inc() }
	reg.MustRegister(records, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logwarden_feedback_accepted",
		Help: "Patterns marked not an issue that are in force (not expired, not revoked)."},
		func() float64 { return float64(set.Active(time.Now())) }))
}

// followFeedback keeps the feedback topic followed into set until ctx ends, reading it
// again from the start after a failure (records are idempotent). loaded is closed once
// the topic was first read to its end.
func followFeedback(ctx context.Context, admin *kafkax.Admin, topic string, set *feedback.Set, loaded chan struct{}, log *zap.Logger) error {
	var once sync.Once
	done := func() { once.Do(func() { close(loaded) }) }
	for {
		err := admin.Follow(ctx, topic, set.Apply, done)
		if ctx.Err() != nil {
			return nil
		}
		log.Error("reading the feedback topic failed; reading it again", zap.String("topic", topic), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}
