package service

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
)

// Pipeline takes alerts with their receipts (deliver.Pipeline).
type Pipeline interface {
	Add(ctx context.Context, a *logwardenpb.Alert, r deliver.Receipt) error
}

// Metrics count dead letters by reason.
type Metrics struct {
	DeadLetters *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_notifier_dead_letters_total",
		Help: "Alert records written to the dead-letter topic, by reason (empty, schema, decode, no_id, no_fingerprint, rejected)."}, []string{"reason"})}
	if reg != nil {
		reg.MustRegister(m.DeadLetters)
	}
	return m
}

// Handler hands each alert record to the pipeline with its receipt, and dead-letters
// what is not an alert (kafkax.AsyncHandler).
type Handler struct {
	pipeline Pipeline
	service  string
	log      *zap.Logger
	metrics  *Metrics
}

// NewHandler builds the handler; service names the notifier in dead letters.
func NewHandler(p Pipeline, service string, m *Metrics, log *zap.Logger) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Handler{pipeline: p, service: service, log: log, metrics: m}
}

// Handle implements kafkax.AsyncHandler. A record that is not an alert is acknowledged
// with its dead letter as the output (written before the offset may be committed).
func (h *Handler) Handle(ctx context.Context, m kafkax.Message, ack kafkax.Ack) error {
	a, err := DecodeAlert(m)
	if err != nil {
		h.log.Error("not an alert; dead-lettered", zap.String("msg", m.String()), zap.Error(err))
		h.metrics.DeadLetters.WithLabelValues(reasonLabel(err)).Inc()
		return ack(ctx, kafkax.DeadLetter(m, h.service, err))
	}
	return h.pipeline.Add(ctx, a, &receipt{m: m, ack: ack, h: h})
}

// receipt settles one alert record: Ack marks it done; Reject writes its dead letter
// with the reason, then marks it done.
type receipt struct {
	m   kafkax.Message
	ack kafkax.Ack
	h   *Handler
}

func (r *receipt) Ack(ctx context.Context) error { return r.ack(ctx) }

func (r *receipt) Reject(ctx context.Context, reason error) error {
	r.h.metrics.DeadLetters.WithLabelValues("rejected").Inc()
	return r.ack(ctx, kafkax.DeadLetter(r.m, r.h.service, reason))
}
