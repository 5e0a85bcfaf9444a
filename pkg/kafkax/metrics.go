package kafkax

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Kafka-side numbers every service exports. A nil *Metrics records nothing.
type Metrics struct {
	consumed   *prometheus.CounterVec
	fetchErrs  prometheus.Counter
	produced   *prometheus.CounterVec
	writeErrs  *prometheus.CounterVec
	dlq        *prometheus.CounterVec
	commits    *prometheus.CounterVec
	lag        *prometheus.GaugeVec
	handleSecs prometheus.Histogram
	writeSecs  prometheus.Histogram
	inFlight   prometheus.Gauge
}

// NewMetrics registers the Kafka metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_kafka_messages_consumed_total", Help: "Messages fetched, by topic.",
		}, []string{"topic"}),
		fetchErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_kafka_fetch_errors_total", Help: "Failed fetches (broker down, partitions moving); each is retried.",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_kafka_messages_produced_total", Help: "Messages acknowledged by the brokers, by topic.",
		}, []string{"topic"}),
		writeErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_kafka_write_errors_total", Help: "Failed write attempts, by topic.",
		}, []string{"topic"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_dlq_writes_total", Help: "Dead-letter records written, by dead-letter topic.",
		}, []string{"topic"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_kafka_commits_total", Help: "Offset commits, by outcome (ok, error).",
		}, []string{"outcome"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "logwarden_kafka_consumer_lag", Help: "Messages behind the partition end at the last fetch.",
		}, []string{"topic", "partition"}),
		handleSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "logwarden_kafka_batch_handle_seconds", Help: "Time the handler took per fetched batch.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		writeSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "logwarden_kafka_write_seconds", Help: "Time until the brokers acknowledged a write (acks=all).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logwarden_kafka_in_flight_messages", Help: "Fetched messages not yet acknowledged by the handler.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.consumed, m.fetchErrs, m.produced, m.writeErrs, m.dlq, m.commits, m.lag, m.handleSecs, m.writeSecs, m.inFlight)
	}
	return m
}

func (m *Metrics) fetched(msg Message) {
	if m == nil {
		return
	}
	m.consumed.WithLabelValues(msg.Topic).Inc()
	if msg.HighWaterMark > 0 {
		m.lag.WithLabelValues(msg.Topic, strconv.Itoa(msg.Partition)).Set(float64(msg.HighWaterMark - msg.Offset - 1))
	}
}

func (m *Metrics) fetchFailed() {
	if m == nil {
		return
	}
	m.fetchErrs.Inc()
}

func (m *Metrics) wrote(msgs []Message, took time.Duration, err error) {
	if m == nil || len(msgs) == 0 {
		return
	}
	if err != nil {
		m.writeErrs.WithLabelValues(msgs[0].Topic).Inc()
		return
	}
	m.writeSecs.Observe(took.Seconds())
	for _, msg := range msgs {
		m.produced.WithLabelValues(msg.Topic).Inc()
		if len(msg.Topic) > 4 && msg.Topic[len(msg.Topic)-4:] == ".dlq" {
			m.dlq.WithLabelValues(msg.Topic).Inc()
		}
	}
}

func (m *Metrics) committed(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.commits.WithLabelValues("error").Inc()
		return
	}
	m.commits.WithLabelValues("ok").Inc()
}

func (m *Metrics) handled(took time.Duration) {
	if m == nil {
		return
	}
	m.handleSecs.Observe(took.Seconds())
}

func (m *Metrics) setInFlight(n int) {
	if m == nil {
		return
	}
	m.inFlight.Set(float64(n))
}
