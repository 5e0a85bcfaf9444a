package llm

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome of one second-opinion request (one candidate event) or one summary.
type Outcome uint8

const (
	OutcomeOK             Outcome = iota // the model answered and the answer validated
	OutcomeError                         // HTTP or network error after retries, or a refused request (4xx)
	OutcomeTimeout                       // the per-attempt deadline passed
	OutcomeRateLimited                   // 429 after retries, or a Retry-After longer than max_retry_wait
	OutcomeInvalidAnswer                 // the answer did not validate against the schema or the batch
	OutcomeBudgetExceeded                // requests/min or tokens/hour budget spent: not sent
	OutcomeCircuitOpen                   // the breaker is open: not sent
	OutcomeDropped                       // the queue was full: not sent, the event went on without
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "error", "timeout", "rate_limited", "invalid_answer", "budget_exceeded", "circuit_open", "dropped"}

func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// metrics are the Prometheus series plus atomic mirrors for Stats (a registry is
// optional, Stats is not).
type metrics struct {
	events, candidates, calls, cacheHits, cacheMisses prometheus.Counter
	instructions                                      prometheus.Counter
	requests                                          *prometheus.CounterVec
	tokens                                            *prometheus.CounterVec
	callSeconds                                       prometheus.Histogram
	byOutcome                                         [numOutcomes]prometheus.Counter
	tokensIn, tokensOut                               prometheus.Counter

	nEvents, nCandidates, nCalls, nHits, nMisses, nTokensIn, nTokensOut, nInstructions atomic.Uint64
	nOutcomes                                                                          [numOutcomes]atomic.Uint64
}

func newMetrics(reg prometheus.Registerer, queueDepth, breakerState func() float64) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_events_total",
			Help: "Verdicts the LLM stage looked at (for LLM calls per 1,000 events: logwarden_llm_calls_total / this).",
		}),
		candidates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_candidates_total",
			Help: "Verdicts that qualified for a second opinion (uncertain score or new template).",
		}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_calls_total",
			Help: "HTTP chat-completion attempts sent to the model, retries included.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_cache_hits_total",
			Help: "Candidates answered from the per-template cache, without a call.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_cache_misses_total",
			Help: "Candidates with a template id not in the cache.",
		}),
		instructions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "logwarden_llm_instruction_like_total",
			Help: "Candidates whose log text reads like instructions to a model: asked in a prompt of their own, answer never cached.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_llm_requests_total",
			Help: "Second-opinion requests (one per candidate event, one per alert summary) by final outcome.",
		}, []string{"outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_llm_tokens_total",
			Help: "Tokens reported by the model, by direction (in = prompt, out = completion).",
		}, []string{"direction"}),
		callSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "logwarden_llm_call_duration_seconds",
			Help:    "Duration of one HTTP attempt to the model.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32},
		}),
	}
	for i, name := range outcomeNames {
		m.byOutcome[i] = m.requests.WithLabelValues(name) // resolved once: no label lookup per event
	}
	m.tokensIn = m.tokens.WithLabelValues("in")
	m.tokensOut = m.tokens.WithLabelValues("out")
	if reg == nil {
		return m, nil
	}
	collectors := []prometheus.Collector{
		m.events, m.candidates, m.calls, m.cacheHits, m.cacheMisses, m.instructions, m.requests, m.tokens, m.callSeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logwarden_llm_queue_depth",
			Help: "Candidates waiting for a request.",
		}, queueDepth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "logwarden_llm_circuit_state",
			Help: "Circuit breaker: 0 closed, 1 open, 2 half-open.",
		}, breakerState),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register llm metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) event()     { m.events.Inc(); m.nEvents.Add(1) }
func (m *metrics) candidate() { m.candidates.Inc(); m.nCandidates.Add(1) }
func (m *metrics) call()      { m.calls.Inc(); m.nCalls.Add(1) }
func (m *metrics) hit()       { m.cacheHits.Inc(); m.nHits.Add(1) }
func (m *metrics) miss()      { m.cacheMisses.Inc(); m.nMisses.Add(1) }

func (m *metrics) instructionLike() { m.instructions.Inc(); m.nInstructions.Add(1) }

func (m *metrics) outcome(o Outcome, n int) {
	m.byOutcome[o].Add(float64(n))
	m.nOutcomes[o].Add(uint64(n))
}

func (m *metrics) usage(in, out int) {
	if in > 0 {
		m.tokensIn.Add(float64(in))
		m.nTokensIn.Add(uint64(in))
	}
	if out > 0 {
		m.tokensOut.Add(float64(out))
		m.nTokensOut.Add(uint64(out))
	}
}

// Stats is a snapshot of the stage's counters, for `classify --llm` and `eval`
// to print next to their scores.
type Stats struct {
	Enabled     bool
	Events      uint64 // verdicts seen by Consider
	Candidates  uint64 // of which qualified for a second opinion
	CacheHits   uint64
	CacheMisses uint64
	// InstructionLike candidates were asked alone and their answers not cached.
	InstructionLike uint64
	Calls           uint64 // HTTP attempts, retries included
	TokensIn        uint64
	TokensOut       uint64
	Outcomes        map[string]uint64 // per request outcome name (ok, error, timeout, …)
	Breaker         string            // closed, open, half-open
}

// CallsPer1000Events is the cost figure of the stage.
func (s Stats) CallsPer1000Events() float64 {
	if s.Events == 0 {
		return 0
	}
	return float64(s.Calls) * 1000 / float64(s.Events)
}

// String renders the snapshot on one line, outcomes in a fixed order.
func (s Stats) String() string {
	if !s.Enabled {
		return "llm: off"
	}
	var parts []string
	for _, name := range outcomeNames {
		if n := s.Outcomes[name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, n))
		}
	}
	return fmt.Sprintf("llm: %d events, %d candidates (%d instruction-like), %d calls (%.2f per 1000 events), cache %d hits/%d misses, tokens %d in/%d out, requests [%s], breaker %s",
		s.Events, s.Candidates, s.InstructionLike, s.Calls, s.CallsPer1000Events(), s.CacheHits, s.CacheMisses, s.TokensIn, s.TokensOut, strings.Join(parts, " "), s.Breaker)
}

func (m *metrics) snapshot() Stats {
	st := Stats{
		Enabled:         true,
		Events:          m.nEvents.Load(),
		Candidates:      m.nCandidates.Load(),
		CacheHits:       m.nHits.Load(),
		CacheMisses:     m.nMisses.Load(),
		InstructionLike: m.nInstructions.Load(),
		Calls:           m.nCalls.Load(),
		TokensIn:        m.nTokensIn.Load(),
		TokensOut:       m.nTokensOut.Load(),
		Outcomes:        make(map[string]uint64, numOutcomes),
	}
	for i := range m.nOutcomes {
		st.Outcomes[outcomeNames[i]] = m.nOutcomes[i].Load()
	}
	return st
}
