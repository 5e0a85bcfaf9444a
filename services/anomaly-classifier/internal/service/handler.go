package service

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/decode"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
)

// Name is the service name written into dead letters.
const Name = "anomaly-classifier"

// Classifier is the detection engine as the handler uses it (not concurrency-safe).
type Classifier interface {
	ProcessFrom(ev *logwardenpb.LogEvent, partition int32) engine.Result
	Adopt(ev *logwardenpb.LogEvent)
	ReloadRules() error
	// The state topic's side (checkpoint.go).
	Prime(ev *logwardenpb.LogEvent, partition int32)
	HashKey() []byte
	PartitionUsers(partition int32) ([]*logwardenpb.UserState, []*logwardenpb.UserCommands)
	RestoreUsers(key []byte, users []*logwardenpb.UserState, commands []*logwardenpb.UserCommands) error
}

// SecondOpinion is the LLM stage as the handler uses it. A nil or off stage is fine.
type SecondOpinion interface {
	Consider(v *logwardenpb.Verdict, newTemplate bool) llm.Decision
	Results() <-chan llm.Opinion
}

// Which events get a verdict on the verdicts topic (Topics.VerdictsMode).
const (
	VerdictsAll       = "all"       // every event (the default)
	VerdictsAnomalous = "anomalous" // events found anomalous (an LLM upgrade that makes one anomalous included)
	VerdictsOff       = "off"       // none: the verdicts topic is neither created nor written
)

// How a verdict names its event (Topics.VerdictEvent).
const (
	VerdictEventFull = "full" // a copy of the event in Verdict.event (the default)
	VerdictEventRef  = "ref"  // Verdict.event_ref: input topic, partition, offset and event id
)

// Topics names the outputs.
type Topics struct {
	Verdicts string
	// VerdictsMode is VerdictsAll (also when empty), VerdictsAnomalous or VerdictsOff.
	VerdictsMode string
	// VerdictEvent is VerdictEventFull (also when empty) or VerdictEventRef.
	VerdictEvent string
	Alerts       string
}

// VerdictsOn reports whether any verdict is written.
func (t Topics) VerdictsOn() bool { return t.VerdictsMode != VerdictsOff }

// publishes reports whether v goes to the verdicts topic.
func (t Topics) publishes(v *logwardenpb.Verdict) bool {
	switch t.VerdictsMode {
	case VerdictsOff:
		return false
	case VerdictsAnomalous:
		return v.GetAnomalous()
	}
	return true
}

// Handler classifies batches. Handle and Reload serialise on the engine;
// DrainOpinions may run from another goroutine.
type Handler struct {
	mu      sync.Mutex // guards eng, dec, dedup and parts (the parser is not concurrency-safe)
	dec     *decode.Auto
	pre     *decode.Auto // Decode's own: it runs beside Handle, on the consumer's fetching goroutine
	eng     Classifier
	llm     SecondOpinion
	topics  Topics
	log     *zap.Logger
	metrics *Metrics
	now     func() time.Time
	dedup   *dedup

	summarizer         Summarizer
	summaryTimeout     time.Duration
	summaryConcurrency int

	// Partitions seen. When a partition reaches this instance (first time, or again after
	// other members processed part of it: a gap in its offsets), the engine's per-user
	// state for it is rebuilt from the messages it missed, at most replayEvents of them
	// (replay; outputs discarded: their owner wrote them). Without a replay, a partition
	// that first arrives after adoptAfter events was moved here by a rebalance: its users
	// are adopted (stats.Baselines.Adopt).
	parts        map[partition]*partState
	handled      int
	adoptAfter   int
	replayFn     History
	replayEvents int64
	users        SavedUsers
	onReload     func()
	feedback     *Feedback
}

// HandlerOptions are the handler's collaborators and knobs; the zero value is a handler
// with the LLM, the replay and the dedup off.
type HandlerOptions struct {
	Topics Topics
	// Stage gives second opinions (nil: none).
	Stage SecondOpinion
	// Metrics (nil: not counted) and Log (nil: no logs).
	Metrics *Metrics
	Log     *zap.Logger
	// Replay reads a partition's history to rebuild per-user state, at most ReplayEvents
	// messages (nil or 0: off).
	Replay       History
	ReplayEvents int64
	// DedupEvents is how many recent event ids per partition are remembered to drop
	// duplicates (0: off).
	DedupEvents int
	// AdoptAfter is the number of events after which a new partition is taken as moved
	// here by a rebalance (0: DefaultAdoptAfter).
	AdoptAfter int
	// Summarizer writes the LLM summary of alerts of medium severity and above (nil:
	// none), waited for at most SummaryTimeout per batch (0: DefaultSummaryTimeout),
	// SummaryConcurrency calls at once (0: 2).
	Summarizer         Summarizer
	SummaryTimeout     time.Duration
	SummaryConcurrency int
	// OnReload is called after the rules were reloaded, with the engine held (nil: none).
	OnReload func()
	// Feedback drops the alerts people marked not an issue (nil: none).
	Feedback *Feedback
	// Users gives the users of a partition as last saved to the state topic (nil:
	// none); the replay then starts from their offset (checkpoint.go).
	Users SavedUsers
}

type partState struct {
	next    int64 // offset after the last one handled
	saved   int64 // offset up to which the partition's users are in the state topic
	adopted bool
}

// History reads the messages of one partition in [from, to) (kafkax.ReadPartitionRange).
type History func(ctx context.Context, topic string, partition int, from, to int64, fn func(kafkax.Message)) (int, error)

// replayTimeout bounds the rebuild of one partition's state.
const replayTimeout = 60 * time.Second

type partition struct {
	topic string
	part  int
}

// DefaultAdoptAfter is how many events an instance handles before a partition that
// appears is taken as moved here by a rebalance rather than assigned at start.
const DefaultAdoptAfter = 1000

// NewHandler builds a handler around eng.
func NewHandler(eng Classifier, o HandlerOptions) *Handler {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	adoptAfter := o.AdoptAfter
	if adoptAfter <= 0 {
		adoptAfter = DefaultAdoptAfter
	}
	h := &Handler{dec: decode.New(logparse.New(logparse.Options{})), pre: decode.New(logparse.New(logparse.Options{})), eng: eng, llm: o.Stage,
		topics: o.Topics, metrics: o.Metrics, log: log, now: time.Now, dedup: newDedup(o.DedupEvents),
		parts: map[partition]*partState{}, adoptAfter: adoptAfter, replayFn: o.Replay, replayEvents: o.ReplayEvents, users: o.Users,
		summarizer: o.Summarizer, summaryTimeout: o.SummaryTimeout, summaryConcurrency: o.SummaryConcurrency, onReload: o.OnReload,
		feedback: o.Feedback}
	if h.summaryTimeout <= 0 {
		h.summaryTimeout = DefaultSummaryTimeout
	}
	if h.summaryConcurrency <= 0 {
		h.summaryConcurrency = 2
	}
	return h
}

// Handle is the kafkax.BatchHandler: Decode, then HandleDecoded.
func (h *Handler) Handle(ctx context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
	return h.HandleDecoded(ctx, batch, h.Decode(batch))
}

// Decoded is a batch's records decoded: for each, its event or why it has none.
type Decoded struct {
	events []*logwardenpb.LogEvent // nil where the record is a dead letter
	errs   []error
}

// Decode decodes the records of a batch (the prepare stage of kafkax.RunPrepared): it
// touches none of the state Handle guards, so the next batch is decoded while the engine
// works on this one. It must not be called from two goroutines at once.
func (h *Handler) Decode(batch []kafkax.Message) Decoded {
	d := Decoded{events: make([]*logwardenpb.LogEvent, len(batch)), errs: make([]error, len(batch))}
	for i, m := range batch {
		ev := &logwardenpb.LogEvent{} // one each: the engine may keep an event (evidence) long after its batch
		if err := h.pre.Decode(m, ev); err != nil {
			d.errs[i] = err
			continue
		}
		d.events[i] = ev
	}
	return d
}

// HandleDecoded returns, per record of batch (decoded by Decode), the verdict and alerts
// or a dead letter, plus the upgrades of LLM opinions that arrived. With summaries on,
// alerts of medium severity and above wait for the LLM's summary at most the summary time
// box. It fails only when an output cannot be encoded (a bug), never on bad input.
func (h *Handler) HandleDecoded(ctx context.Context, batch []kafkax.Message, d Decoded) ([]kafkax.Message, error) {
	start := h.now()
	rs := make([]result, 0, len(batch)+4)
	h.mu.Lock()
	for i, m := range batch {
		ev := d.events[i]
		if ev == nil {
			h.log.Debug("dead letter", zap.Stringer("record", m), zap.Error(d.errs[i]))
			rs = append(rs, result{dead: kafkax.DeadLetter(m, Name, d.errs[i])})
			continue
		}
		adopt := h.adopted(ctx, m)
		if h.dedup.seen(partition{m.Topic, m.Partition}, ev.GetId()) {
			h.log.Debug("duplicate event dropped", zap.Stringer("record", m), zap.String("event_id", ev.GetId()))
			h.metrics.duplicate("live")
			continue
		}
		if adopt {
			h.eng.Adopt(ev)
		}
		res := h.eng.ProcessFrom(ev, int32(m.Partition))
		if h.topics.VerdictEvent == VerdictEventRef {
			// Set before the LLM stage sees the verdict: an upgrade published later names the event too.
			res.Verdict.EventRef = &logwardenpb.EventRef{Topic: m.Topic, Partition: int32(m.Partition), Offset: m.Offset, Id: ev.GetId()}
		}
		if h.llm != nil {
			h.llm.Consider(res.Verdict, res.NewTemplate || res.Candidate)
		}
		rs = append(rs, result{verdict: res.Verdict, alerts: res.Alerts})
		h.metrics.classified(res.Verdict)
	}
	h.mu.Unlock()
	rs = h.suppress(h.takeOpinions(rs))
	waited := h.summarize(ctx, rs)
	outs, err := h.encode(rs)
	if err != nil {
		return nil, err
	}
	h.metrics.observeBatch(h.now().Sub(start)-waited, len(batch))
	return outs, nil
}

// result is one event's outputs before they are encoded: its verdict and alerts,
// or a dead letter.
type result struct {
	dead    kafkax.Message
	verdict *logwardenpb.Verdict
	alerts  []*logwardenpb.Alert
}

// adopted counts m and reports whether its users are adopted. A partition new to this
// instance, or one whose offsets jumped (other members handled the gap), has its state
// rebuilt first: from the users saved in the state topic and the messages after them
// (restore), else from its history (Replay).
func (h *Handler) adopted(ctx context.Context, m kafkax.Message) bool {
	h.handled++
	k := partition{m.Topic, m.Partition}
	st := h.parts[k]
	if st == nil {
		st = &partState{adopted: h.handled > h.adoptAfter}
		h.parts[k] = st
		if m.Offset > 0 && h.restore(ctx, m, -1) {
			st.adopted = false
		} else if m.Offset > 0 && h.replayFn != nil && h.replayEvents > 0 {
			st.adopted = !h.replay(ctx, m, max(0, m.Offset-h.replayEvents), 0)
		}
		if st.adopted {
			h.log.Info("partition assigned mid-stream: its users start without early checks until warm",
				zap.String("topic", m.Topic), zap.Int("partition", m.Partition))
		}
	} else if m.Offset > st.next && !h.restore(ctx, m, st.next) && h.replayFn != nil && h.replayEvents > 0 {
		h.replay(ctx, m, max(st.next, m.Offset-h.replayEvents), 0)
	}
	st.next = max(st.next, m.Offset+1)
	return st.adopted
}

// replay feeds the engine the partition's messages in [from, m.Offset) and reports
// whether it read them all. Those below prime only rebuild the rules' windows (the
// users' state restored from the state topic holds them already).
func (h *Handler) replay(ctx context.Context, m kafkax.Message, from, prime int64) bool {
	start := h.now()
	rctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	primed := 0
	n, err := h.replayFn(rctx, m.Topic, m.Partition, from, m.Offset, func(r kafkax.Message) {
		ev := &logwardenpb.LogEvent{}
		if h.dec.Decode(r, ev) != nil {
			return
		}
		if h.dedup.seen(partition{r.Topic, r.Partition}, ev.GetId()) {
			h.metrics.duplicate("replay")
			return
		}
		if r.Offset < prime {
			h.eng.Prime(ev, int32(r.Partition))
			primed++
			return
		}
		h.eng.ProcessFrom(ev, int32(r.Partition)) // state only: the previous owner published the outputs
	})
	h.metrics.replayed(n-primed, primed)
	if err != nil {
		h.log.Warn("rebuilding a partition's state failed; its users are adopted", zap.String("topic", m.Topic),
			zap.Int("partition", m.Partition), zap.Int("replayed", n), zap.Error(err))
		return false
	}
	h.log.Info("rebuilt a partition's state from its history", zap.String("topic", m.Topic), zap.Int("partition", m.Partition),
		zap.Int64("from", from), zap.Int64("to", m.Offset), zap.Int("events", n), zap.Int("primed", primed), zap.Duration("took", h.now().Sub(start)))
	return true
}

// Reload re-reads the rule file between batches; the engine keeps its windows.
func (h *Handler) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.eng.ReloadRules(); err != nil {
		return err
	}
	if h.onReload != nil {
		h.onReload()
	}
	return nil
}

// DrainOpinions returns the outputs of the opinions that arrived, without waiting
// for the model (their alerts may wait for a summary, within the time box).
func (h *Handler) DrainOpinions(ctx context.Context) ([]kafkax.Message, error) {
	rs := h.suppress(h.takeOpinions(nil))
	if len(rs) == 0 {
		return nil, nil
	}
	h.summarize(ctx, rs)
	return h.encode(rs)
}

// takeOpinions appends the upgrades of the opinions that arrived, without blocking.
func (h *Handler) takeOpinions(rs []result) []result {
	if h.llm == nil {
		return rs
	}
	ch := h.llm.Results()
	if ch == nil {
		return rs
	}
	for {
		select {
		case o := <-ch:
			if !o.Upgrades() || o.Verdict == nil {
				continue
			}
			wasAnomalous := o.Verdict.GetAnomalous()
			llm.Merge(o.Verdict, o)
			var alerts []*logwardenpb.Alert
			if o.Anomalous && !wasAnomalous {
				alerts = append(alerts, OpinionAlert(o.Verdict, o))
			}
			rs = append(rs, result{verdict: o.Verdict, alerts: alerts})
			h.metrics.upgraded(o)
		default:
			return rs
		}
	}
}

// encode turns results into messages, in order: a dead letter, or a verdict (when the
// verdict mode publishes it) then its alerts. The messages of one call share one
// kafkax.Encoder.
func (h *Handler) encode(rs []result) ([]kafkax.Message, error) {
	n := 0
	for _, r := range rs {
		if r.verdict == nil {
			n++
			continue
		}
		if h.topics.publishes(r.verdict) {
			n++
		}
		n += len(r.alerts)
	}
	if n == 0 {
		return nil, nil
	}
	enc := kafkax.NewEncoder(h.now(), n, 448) // a verdict with its event is about 450 bytes
	outs := make([]kafkax.Message, 0, n)
	for _, r := range rs {
		if r.verdict == nil {
			outs = append(outs, r.dead)
			continue
		}
		v := r.verdict
		if h.topics.publishes(v) {
			pm := v
			if h.topics.VerdictEvent == VerdictEventRef && v.GetEventRef() != nil {
				pm = slimVerdict(v)
			}
			m, err := enc.Message(h.topics.Verdicts, event.EntityKey(v.GetEvent()), v.GetEvent().GetId(), pm)
			if err != nil {
				return nil, fmt.Errorf("verdict of event %s: %w", v.GetEvent().GetId(), err)
			}
			outs = append(outs, m)
		}
		for _, a := range r.alerts {
			k := a.GetEntity()
			if k == "" {
				k = a.GetFingerprint()
			}
			m, err := enc.Message(h.topics.Alerts, k, a.GetId(), a)
			if err != nil {
				return nil, fmt.Errorf("alert %s: %w", a.GetId(), err)
			}
			outs = append(outs, m)
		}
	}
	return outs, nil
}

// slimVerdict is v without its event (v.EventRef names it): a new message sharing v's
// fields, so v itself (which the LLM stage may still read) is not touched.
func slimVerdict(v *logwardenpb.Verdict) *logwardenpb.Verdict {
	return &logwardenpb.Verdict{
		EventRef:     v.EventRef,
		Anomalous:    v.Anomalous,
		Score:        v.Score,
		Severity:     v.Severity,
		Findings:     v.Findings,
		TemplateId:   v.TemplateId,
		Template:     v.Template,
		Degraded:     v.Degraded,
		ClassifiedAt: v.ClassifiedAt,
	}
}

// OpinionAlert is the alert raised when the model finds an event anomalous that
// the other detectors did not: fingerprint "llm" + entity, id from the event id
// (a redelivered opinion yields the same alert).
func OpinionAlert(v *logwardenpb.Verdict, o llm.Opinion) *logwardenpb.Alert {
	ev := v.GetEvent()
	entity := event.EntityKey(ev)
	reason := "the LLM second opinion found this event anomalous"
	for _, f := range o.Findings {
		if f.GetReason() != "" {
			reason = f.GetReason()
			break
		}
	}
	seen := ev.GetTime()
	if seen == nil {
		seen = timestamppb.Now()
	}
	sev := o.Severity
	if sev == logwardenpb.Severity_SEVERITY_UNSPECIFIED {
		sev = v.GetSeverity()
	}
	return &logwardenpb.Alert{
		Id:          "llm-" + ev.GetId(),
		Fingerprint: "llm:" + entity,
		Severity:    sev,
		Title:       "LLM second opinion: suspicious activity by " + entity,
		Summary:     reason,
		Entity:      entity,
		Findings:    o.Findings,
		Evidence:    []*logwardenpb.LogEvent{ev},
		Count:       1,
		FirstSeen:   seen,
		LastSeen:    seen,
	}
}

// Metrics are the classifier's own numbers (Kafka's are kafkax.Metrics).
type Metrics struct {
	events    prometheus.Counter
	anomalies *prometheus.CounterVec
	seconds   prometheus.Histogram
	upgrades  *prometheus.CounterVec
	replays   prometheus.Counter
	primed    prometheus.Counter
	dups      *prometheus.CounterVec
	summaries *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg (nil: a private registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_events_classified_total",
			Help: "Events classified (one verdict each)."}),
		anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_anomalies_total",
			Help: "Findings of anomalous verdicts, by detector and severity."}, []string{"detector", "severity"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "logwarden_classify_seconds",
			Help:    "Time to classify one event (batch time / batch size), before outputs are written.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10)}),
		upgrades: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_llm_upgrades_total",
			Help: "Verdicts republished after an LLM opinion, by whether the model found them anomalous."}, []string{"anomalous"}),
	}
	m.replays = prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_state_replayed_events_total",
		Help: "Events re-read from a partition's history to rebuild per-user state after it was assigned here."})
	m.primed = prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_state_primed_events_total",
		Help: "Events re-read from a partition's history only to rebuild the rules' windows (the users' saved state holds them)."})
	m.dups = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_duplicate_events_total",
		Help: "Events dropped because their id was classified already, by where the copy came from (live, replay)."}, []string{"phase"})
	m.summaries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_alert_summaries_total",
		Help: "Alerts of medium severity and above with openai.summaries on, by whether the LLM summary was added in time (added, missing)."}, []string{"result"})
	reg.MustRegister(m.events, m.anomalies, m.seconds, m.upgrades, m.replays, m.primed, m.dups, m.summaries)
	return m
}

func (m *Metrics) summary(result string) {
	if m == nil {
		return
	}
	m.summaries.WithLabelValues(result).Inc()
}

func (m *Metrics) duplicate(phase string) {
	if m == nil {
		return
	}
	m.dups.WithLabelValues(phase).Inc()
}

func (m *Metrics) replayed(learnt, primed int) {
	if m == nil {
		return
	}
	m.replays.Add(float64(learnt))
	m.primed.Add(float64(primed))
}

func (m *Metrics) classified(v *logwardenpb.Verdict) {
	if m == nil {
		return
	}
	m.events.Inc()
	if !v.GetAnomalous() {
		return
	}
	for _, f := range v.GetFindings() {
		m.anomalies.WithLabelValues(f.GetDetector(), f.GetSeverity().String()).Inc()
	}
}

func (m *Metrics) upgraded(o llm.Opinion) {
	if m == nil {
		return
	}
	if o.Anomalous {
		m.upgrades.WithLabelValues("true").Inc()
		for _, f := range o.Findings {
			m.anomalies.WithLabelValues(f.GetDetector(), f.GetSeverity().String()).Inc()
		}
		return
	}
	m.upgrades.WithLabelValues("false").Inc()
}

func (m *Metrics) observeBatch(d time.Duration, n int) {
	if m == nil || n == 0 {
		return
	}
	m.seconds.Observe(d.Seconds() / float64(n))
}
