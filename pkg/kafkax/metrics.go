package kafkax

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Kafka-side numbers every service exports. A nil *Metrics records nothing.
type Metrics struct {
	consumed   *prometheus.CounterVec
	fetchErrs  prometheus.Counter
	produced   *prometheus.CounterVec
	writeErrs  *prometheus.CounterVec
	tooLarge   *prometheus.CounterVec
	dlq        *prometheus.CounterVec
	dlqTrimmed *prometheus.CounterVec
	dlqDropped prometheus.Counter
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
			Name: "logwarden_kafka_write_errors_total", Help: "Messages not written by a write attempt, by topic.",
		}, []string{"topic"}),
		tooLarge: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_kafka_messages_too_large_total", Help: "Messages refused for good as larger than their topic's max.message.bytes, by topic.",
		}, []string{"topic"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_dlq_writes_total", Help: "Dead-letter records written, by dead-letter topic.",
		}, []string{"topic"}),
		dlqTrimmed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_dlq_trimmed_total", Help: "Dead letters trimmed to fit their topic's max.message.bytes, by dead-letter topic.",
		}, []string{"topic"}),
		dlqDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_dlq_dropped_total", Help: "Dead letters that did not fit their topic even trimmed (a limit of a few hundred bytes) and were dropped.",
		}),
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
		reg.MustRegister(m.consumed, m.fetchErrs, m.produced, m.writeErrs, m.tooLarge, m.dlq, m.dlqTrimmed, m.dlqDropped, m.commits, m.lag, m.handleSecs, m.writeSecs, m.inFlight)
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

// fetchedBatch counts a batch: per topic, and the lag of each partition at its last
// message (one metric update per topic and partition, not per message).
func (m *Metrics) fetchedBatch(batch []Message) {
	if m == nil || len(batch) == 0 {
		return
	}
	type tp struct {
		topic string
		part  int
	}
	last := make(map[tp]Message, 8)
	count := make(map[string]int, 1)
	for _, msg := range batch {
		count[msg.Topic]++
		last[tp{msg.Topic, msg.Partition}] = msg
	}
	for topic, n := range count {
		m.consumed.WithLabelValues(topic).Add(float64(n))
	}
	for _, msg := range last {
		if msg.HighWaterMark > 0 {
			m.lag.WithLabelValues(msg.Topic, strconv.Itoa(msg.Partition)).Set(float64(msg.HighWaterMark - msg.Offset - 1))
		}
	}
}

func (m *Metrics) fetchFailed() {
	if m == nil {
		return
	}
	m.fetchErrs.Inc()
}

// wrote counts one write to topic: ok messages acknowledged, failed not written (of
// which tooLarge refused for good).
func (m *Metrics) wrote(topic string, ok, failed, tooLarge int, took time.Duration) {
	if m == nil {
		return
	}
	if failed > 0 {
		m.writeErrs.WithLabelValues(topic).Add(float64(failed))
	}
	if tooLarge > 0 {
		m.tooLarge.WithLabelValues(topic).Add(float64(tooLarge))
	}
	if ok == 0 {
		return
	}
	if failed == 0 {
		m.writeSecs.Observe(took.Seconds())
	}
	m.produced.WithLabelValues(topic).Add(float64(ok))
	if strings.HasSuffix(topic, ".dlq") {
		m.dlq.WithLabelValues(topic).Add(float64(ok))
	}
}

func (m *Metrics) trimmedDeadLetter(topic string) {
	if m == nil {
		return
	}
	m.dlqTrimmed.WithLabelValues(topic).Inc()
}

func (m *Metrics) droppedDeadLetter() {
	if m == nil {
		return
	}
	m.dlqDropped.Inc()
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
