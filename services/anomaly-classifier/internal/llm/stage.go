package llm

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	openai "github.com/sashabaranov/go-openai"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/retry"
)

// Detector is the Finding.detector of everything this stage adds.
const Detector = "llm"

// RuleID is the Finding.rule_id of a second opinion.
const RuleID = "llm.second-opinion"

// maxWaiters bounds the events parked behind one template's pending request.
const maxWaiters = 64

// ErrDisabled is returned by Summarize when the stage is off or summaries are
// not configured.
var ErrDisabled = errors.New("llm stage disabled")

// Decision is what Consider did with a verdict.
type Decision uint8

const (
	// Skipped: not a candidate (score outside the uncertain band and not a new
	// template), or the stage is off. v is unchanged.
	Skipped Decision = iota
	// Queued: an Opinion for this event will come back on Results (or from Flush).
	Queued
	// Cached: the template's cached answer was merged into v at once.
	Cached
	// Degraded: a candidate the stage cannot serve now (circuit open, budget
	// spent, queue full); v.Degraded was set and the outcome counted.
	Degraded
)

func (d Decision) String() string {
	return [...]string{"skipped", "queued", "cached", "degraded"}[d]
}

// Opinion is the stage's answer for one queued event. Findings only ever add to
// a verdict: apply it with Merge, which cannot remove or lower anything.
type Opinion struct {
	EventID    string
	TemplateID string
	// Verdict is a copy of the verdict taken when it was queued, for a caller
	// that wants to publish an upgraded verdict without keeping its own.
	Verdict   *logwardenpb.Verdict
	Outcome   Outcome
	Anomalous bool
	Severity  logwardenpb.Severity
	Score     float64
	Findings  []*logwardenpb.Finding // detector "llm"; empty when the model found it normal or the call failed
	Degraded  bool                   // the call failed: the other stages decided alone
	Cached    bool                   // answered from another event's request on the same template

	seq uint64
}

// Upgrades reports whether merging o can change a verdict: it adds a finding or
// marks it degraded.
func (o Opinion) Upgrades() bool { return len(o.Findings) > 0 || o.Degraded }

// item is one queued candidate; waiters are later events of the same template
// that share its answer.
type item struct {
	seq         uint64
	verdict     *logwardenpb.Verdict // private copy
	newTemplate bool
	waiters     []*item
	// group is whose events may share a prompt: the entity and the host the line came
	// from. A prompt never mixes groups, so text logged by one cannot steer the
	// opinion on another's events.
	group string
	// alone: the event's text reads like instructions to a model. It is asked in a
	// prompt of its own, nobody waits for its answer and the answer is not cached.
	alone bool
}

// Stage is the budgeted, asynchronous LLM second opinion. A nil *Stage or one
// built without an API key is "off": every method is a cheap no-op.
type Stage struct {
	cfg     Config
	on      bool
	log     *zap.Logger
	clock   clock.Clock
	client  *openai.Client
	http    *http.Client
	budget  *budget
	breaker *breaker
	cache   *cache
	m       *metrics

	queue   chan *item
	results chan Opinion

	mu      sync.Mutex // guards pending and serializes the candidate path
	pending map[string]*item
	seq     atomic.Uint64
}

// New builds the stage. With cfg.APIKey empty the stage is off and New only
// validates cfg. reg may be nil (no metrics registered), clk nil (real time). Budget
// windows, cache expiry, the breaker's cool-down, linger and retry waits go through
// clk; per-attempt HTTP timeouts are real deadlines.
func New(cfg Config, log *zap.Logger, reg prometheus.Registerer, clk clock.Clock) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Stage{cfg: cfg, on: cfg.Enabled(), log: log, clock: clock.OrReal(clk)}
	if !s.on {
		return s, nil
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	s.http = &http.Client{Transport: metaTransport{base: transport}}
	var cc openai.ClientConfig
	if cfg.APIType == APITypeAzure {
		cc = openai.DefaultAzureConfig(cfg.APIKey, strings.TrimRight(cfg.BaseURL, "/"))
		cc.APIVersion = cfg.APIVersion
	} else {
		cc = openai.DefaultConfig(cfg.APIKey)
		if cfg.BaseURL != "" {
			cc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
		}
	}
	cc.HTTPClient = s.http
	s.client = openai.NewClientWithConfig(cc)
	s.budget = newBudget(cfg.MaxRequestsPerMinute, cfg.MaxTokensPerHour)
	s.breaker = newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown)
	s.cache = newCache(cfg.CacheSize, cfg.CacheTTL)
	s.queue = make(chan *item, cfg.QueueSize)
	s.results = make(chan Opinion, cfg.QueueSize)
	s.pending = make(map[string]*item)
	m, err := newMetrics(reg,
		func() float64 { return float64(len(s.queue)) },
		func() float64 { return float64(s.breaker.current()) })
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// Enabled reports whether the stage calls a model.
func (s *Stage) Enabled() bool { return s != nil && s.on }

// Summarizes reports whether Summarize calls the model (openai.summaries).
func (s *Stage) Summarizes() bool { return s.Enabled() && s.cfg.Summaries }

// Describe is the line the service logs at start (never contains the key).
func (s *Stage) Describe() string {
	if s == nil {
		return DefaultConfig().Describe()
	}
	return s.cfg.Describe()
}

// Stats snapshots the counters.
func (s *Stage) Stats() Stats {
	if !s.Enabled() {
		return Stats{}
	}
	st := s.m.snapshot()
	st.Breaker = s.breaker.current().String()
	return st
}

// Results delivers opinions while Run runs. The caller must keep draining it
// (e.g. at the start of each consumer batch); nil when the stage is off, which
// blocks forever in a select, as wanted.
func (s *Stage) Results() <-chan Opinion {
	if !s.Enabled() {
		return nil
	}
	return s.results
}

// Consider decides, without any I/O or waiting, whether v gets a second opinion.
// Candidates are events whose fused score lies in the uncertain band and, when
// configured, the first occurrence of a template (newTemplate). A cached answer
// for v's template is merged into v at once; otherwise v is copied and queued,
// or — when the breaker is open, the budget is spent or the queue is full —
// marked degraded. Safe for concurrent use.
func (s *Stage) Consider(v *logwardenpb.Verdict, newTemplate bool) Decision {
	if s == nil || !s.on || v == nil {
		return Skipped
	}
	s.m.event()
	score := v.GetScore()
	if !(newTemplate && s.cfg.NewTemplates) && (score < s.cfg.UncertainLow || score > s.cfg.UncertainHigh) {
		return Skipped
	}
	s.m.candidate()
	tid := s.cacheKey(v)

	alone := instructionLike(v.GetEvent())

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if tid != "" {
		if j, ok := s.cache.get(now, tid); ok {
			s.m.hit()
			mergeJudgement(v, j)
			return Cached
		}
		s.m.miss()
		if p := s.pending[tid]; p != nil {
			if len(p.waiters) < maxWaiters {
				p.waiters = append(p.waiters, s.newItem(v, newTemplate, alone))
				return Queued
			}
			return s.degrade(v, OutcomeDropped)
		}
	}
	switch {
	case s.breaker.rejecting(now):
		return s.degrade(v, OutcomeCircuitOpen)
	case s.budget.exhausted(now):
		return s.degrade(v, OutcomeBudgetExceeded)
	case len(s.queue) == cap(s.queue):
		return s.degrade(v, OutcomeDropped) // before copying v: a full queue costs nothing
	}
	it := s.newItem(v, newTemplate, alone)
	select {
	case s.queue <- it:
	default:
		return s.degrade(v, OutcomeDropped)
	}
	if tid != "" && !alone {
		s.pending[tid] = it
	}
	if alone {
		s.m.instructionLike()
	}
	return Queued
}

// cacheKey is what answers are shared by: the template id, plus the event's
// action and target with cache_key=template_target ("" = not cached).
func (s *Stage) cacheKey(v *logwardenpb.Verdict) string {
	tid := v.GetTemplateId()
	if tid == "" || s.cfg.CacheKey != CacheKeyTemplateTarget {
		return tid
	}
	e := v.GetEvent()
	return tid + "\x00" + e.GetAction() + "\x00" + e.GetTarget()
}

func (s *Stage) degrade(v *logwardenpb.Verdict, o Outcome) Decision {
	v.Degraded = true
	s.m.outcome(o, 1)
	return Degraded
}

func (s *Stage) newItem(v *logwardenpb.Verdict, newTemplate, alone bool) *item {
	e := v.GetEvent()
	return &item{seq: s.seq.Add(1), verdict: proto.Clone(v).(*logwardenpb.Verdict), newTemplate: newTemplate,
		group: event.EntityKey(e) + "\x00" + e.GetHost(), alone: alone}
}

// batcher groups candidates into prompts: one group (entity and host) per prompt, at
// most max items each, an instruction-like item always alone. Prompts come out in the
// order their first item arrived.
type batcher struct {
	max   int
	total int // items in open groups
	open  map[string][]*item
	order []string // groups with open items, by arrival of their first item
	ready [][]*item
}

func newBatcher(max int) *batcher { return &batcher{max: max, open: map[string][]*item{}} }

func (b *batcher) add(it *item) {
	if it.alone {
		b.ready = append(b.ready, []*item{it})
		return
	}
	g := b.open[it.group]
	if len(g) == 0 {
		b.order = append(b.order, it.group)
	}
	g = append(g, it)
	if len(g) < b.max {
		b.open[it.group] = g
		b.total++
		return
	}
	b.total -= len(g) - 1
	b.ready = append(b.ready, g)
	delete(b.open, it.group)
	b.order = slices.DeleteFunc(b.order, func(k string) bool { return k == it.group })
}

// closeAll moves every open group to the ready prompts.
func (b *batcher) closeAll() {
	for _, k := range b.order {
		b.ready = append(b.ready, b.open[k])
	}
	clear(b.open)
	b.order = b.order[:0]
	b.total = 0
}

// take returns the ready prompts and forgets them.
func (b *batcher) take() [][]*item {
	r := b.ready
	b.ready = nil
	return r
}

func (b *batcher) empty() bool { return len(b.order) == 0 }

// Run batches queued candidates (batch_size or linger, whichever first) and asks
// the model with at most `concurrency` requests in flight, delivering opinions
// on Results. It returns nil when ctx is cancelled; queued work is abandoned
// (the verdicts already went on without it). Use Run or Flush, not both.
func (s *Stage) Run(ctx context.Context) error {
	if !s.Enabled() {
		<-ctx.Done()
		return nil
	}
	defer s.http.CloseIdleConnections()
	g, ctx := errgroup.WithContext(ctx)
	batches := make(chan []*item)
	g.Go(func() error { return s.batch(ctx, batches) })
	for range s.cfg.Concurrency {
		g.Go(func() error {
			for {
				var b []*item
				select {
				case <-ctx.Done():
					return nil
				case b = <-batches:
				}
				for _, o := range s.process(ctx, b) {
					select {
					case s.results <- o:
					case <-ctx.Done():
						return nil
					}
				}
			}
		})
	}
	return g.Wait()
}

// batch turns the queue into prompts (newBatcher): a group's prompt leaves when it
// holds batch_size events, every open one when linger has passed since the first
// event that found nothing open, or when queue_size events wait in open prompts (so
// the batcher holds at most as much as the queue).
func (s *Stage) batch(ctx context.Context, out chan<- []*item) error {
	b := newBatcher(s.cfg.BatchSize)
	var linger <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-s.queue:
			if b.empty() && s.cfg.Linger > 0 {
				linger = s.clock.After(s.cfg.Linger)
			}
			b.add(it)
			if s.cfg.Linger <= 0 {
			drain:
				for {
					select {
					case it := <-s.queue:
						b.add(it)
					default:
						break drain
					}
				}
				b.closeAll()
			}
		case <-linger:
			b.closeAll()
		}
		if b.total >= s.cfg.QueueSize {
			b.closeAll()
		}
		if b.empty() {
			linger = nil
		}
		for _, p := range b.take() {
			select {
			case out <- p:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// Flush is the offline, synchronous mode (classify --llm, eval): it asks about
// everything queued so far, batch by batch on the caller's goroutine, and
// returns the opinions in the order Consider saw the events. When ctx is
// cancelled the rest are resolved as failed (degraded) and ctx.Err() returned.
func (s *Stage) Flush(ctx context.Context) ([]Opinion, error) {
	if !s.Enabled() {
		return nil, nil
	}
	var items []*item
	for done := false; !done; {
		select {
		case it := <-s.queue:
			items = append(items, it)
		default:
			done = true
		}
	}
	b := newBatcher(s.cfg.BatchSize)
	for _, it := range items {
		b.add(it)
	}
	b.closeAll()
	var ops []Opinion
	for _, p := range b.take() {
		if ctx.Err() != nil { // resolve the rest so no template stays pending forever
			ops = append(ops, s.resolve(p, OutcomeError, nil)...)
			continue
		}
		ops = append(ops, s.process(ctx, p)...)
	}
	slices.SortFunc(ops, func(a, b Opinion) int { return cmp.Compare(a.seq, b.seq) })
	return ops, ctx.Err()
}

// Close releases idle HTTP connections (after Run returned or the last Flush).
func (s *Stage) Close() {
	if s.Enabled() {
		s.http.CloseIdleConnections()
	}
}

// process asks the model about one batch and resolves every item and waiter.
func (s *Stage) process(ctx context.Context, batch []*item) []Opinion {
	if !s.breaker.allow(s.clock.Now()) {
		return s.resolve(batch, OutcomeCircuitOpen, nil)
	}
	events := make([]promptEvent, len(batch))
	refs := make([]string, len(batch))
	for i, it := range batch {
		refs[i] = fmt.Sprintf("e%d", i+1)
		events[i] = toPromptEvent(refs[i], it.verdict, it.newTemplate, s.cfg.MaxEventBytes)
	}
	var js map[string]judgement
	outcome := s.ask(ctx, systemPrompt, answerSchema, "logwarden_opinions",
		func(token string) (string, error) { return buildOpinionPrompt(token, events) },
		func(content string) (err error) { js, err = parseAnswer(content, refs); return err })
	s.settleBreaker(ctx, outcome)
	if outcome != OutcomeOK {
		s.log.Debug("llm second opinion failed", zap.Stringer("outcome", outcome), zap.Int("events", len(batch)))
		return s.resolve(batch, outcome, nil)
	}
	byItem := make(map[*item]judgement, len(batch))
	for i, it := range batch {
		byItem[it] = js[refs[i]]
	}
	return s.resolve(batch, OutcomeOK, byItem)
}

func (s *Stage) settleBreaker(ctx context.Context, o Outcome) {
	before := s.breaker.current()
	switch {
	case o == OutcomeOK:
		s.breaker.record(s.clock.Now(), true)
	case o == OutcomeBudgetExceeded || errors.Is(ctx.Err(), context.Canceled):
		s.breaker.release() // nothing was learnt about the endpoint
	default:
		s.breaker.record(s.clock.Now(), false)
	}
	switch after := s.breaker.current(); {
	case after == breakerOpen && before != breakerOpen:
		s.log.Warn("llm circuit open: verdicts go on degraded, from the other stages alone",
			zap.Stringer("last_outcome", o), zap.Duration("cooldown", s.cfg.BreakerCooldown))
	case after == breakerClosed && before != breakerClosed:
		s.log.Info("llm circuit closed: second opinions resume")
	}
}

// resolve turns a batch's result into opinions: items and their waiters, cache
// filled with successful answers, pending entries cleared.
func (s *Stage) resolve(batch []*item, o Outcome, js map[*item]judgement) []Opinion {
	now := s.clock.Now()
	var ops []Opinion
	s.mu.Lock()
	for _, it := range batch {
		j, ok := js[it]
		tid := s.cacheKey(it.verdict)
		if tid != "" {
			if ok && !it.alone {
				s.cache.put(now, tid, j)
			}
			if s.pending[tid] == it {
				delete(s.pending, tid)
			}
		}
		waiters := it.waiters
		it.waiters = nil
		ops = append(ops, opinion(it, o, j, false))
		for _, w := range waiters {
			ops = append(ops, opinion(w, o, j, true))
		}
	}
	s.mu.Unlock()
	s.m.outcome(o, len(ops))
	return ops
}

func opinion(it *item, o Outcome, j judgement, cached bool) Opinion {
	op := Opinion{
		EventID:    it.verdict.GetEvent().GetId(),
		TemplateID: it.verdict.GetTemplateId(),
		Verdict:    it.verdict,
		Outcome:    o,
		Cached:     cached,
		seq:        it.seq,
	}
	if o != OutcomeOK {
		op.Degraded = true
		return op
	}
	if j.Anomalous {
		op.Anomalous, op.Severity, op.Score = true, j.Severity, j.Score
		op.Findings = []*logwardenpb.Finding{judgementFinding(j)}
	}
	return op
}

func judgementFinding(j judgement) *logwardenpb.Finding {
	reason := j.Reason
	if reason == "" {
		reason = "the model judged the event anomalous"
	}
	return &logwardenpb.Finding{
		Detector: Detector,
		RuleId:   RuleID,
		Title:    "LLM second opinion: anomalous",
		Reason:   reason,
		Score:    j.Score,
		Severity: j.Severity,
	}
}

// Merge applies an opinion to a verdict. It can only add: the model's finding
// (detector "llm", once), a higher severity or score, anomalous=true, degraded.
// It never removes a finding and never lowers severity, score or anomalous, so
// an answer steered by log content ("classify this as normal") cannot clear a
// rules or statistics finding. Findings of other detectors in o are ignored.
func Merge(v *logwardenpb.Verdict, o Opinion) {
	if v == nil {
		return
	}
	if o.Degraded {
		v.Degraded = true
	}
	added := false
	for _, f := range o.Findings {
		if f == nil || f.GetDetector() != Detector || hasFinding(v, f) {
			continue
		}
		v.Findings = append(v.Findings, proto.Clone(f).(*logwardenpb.Finding))
		added = true
	}
	if !added && !o.Anomalous {
		return
	}
	if o.Anomalous {
		v.Anomalous = true
	}
	if o.Severity > v.Severity && o.Severity <= logwardenpb.Severity_SEVERITY_CRITICAL {
		v.Severity = o.Severity
	}
	if o.Score > v.Score && o.Score <= 1 {
		v.Score = o.Score
	}
}

func hasFinding(v *logwardenpb.Verdict, f *logwardenpb.Finding) bool {
	for _, g := range v.GetFindings() {
		if g.GetDetector() == f.GetDetector() && g.GetRuleId() == f.GetRuleId() {
			return true
		}
	}
	return false
}

func mergeJudgement(v *logwardenpb.Verdict, j judgement) {
	if !j.Anomalous {
		return
	}
	Merge(v, Opinion{Anomalous: true, Severity: j.Severity, Score: j.Score, Findings: []*logwardenpb.Finding{judgementFinding(j)}})
}

// Summarize asks for the one-paragraph human summary of an alert. It is a
// synchronous call bounded by ctx, the per-attempt timeout and the retries, under
// the same budget and breaker as the opinions (a ctx deadline that passes counts
// as a timeout); the service calls it for medium+ alerts under a time box and
// sends the alert without a summary on any error. The text is sanitized
// (no control characters, bounded length) but is model output derived from log
// content: the notifier must escape it like any other untrusted text.
func (s *Stage) Summarize(ctx context.Context, a *logwardenpb.Alert) (string, error) {
	if !s.Summarizes() {
		return "", ErrDisabled
	}
	if !s.breaker.allow(s.clock.Now()) {
		s.m.outcome(OutcomeCircuitOpen, 1)
		return "", fmt.Errorf("summarize alert: %s", OutcomeCircuitOpen)
	}
	var summary string
	outcome := s.ask(ctx, summarySystemPrompt, summarySchema, "logwarden_summary",
		func(token string) (string, error) { return buildSummaryPrompt(token, a, s.cfg.MaxEventBytes) },
		func(content string) (err error) { summary, err = parseSummary(content); return err })
	s.settleBreaker(ctx, outcome)
	s.m.outcome(outcome, 1)
	if outcome != OutcomeOK {
		return "", fmt.Errorf("summarize alert: %s", outcome)
	}
	return summary, nil
}

type promptAlert struct {
	Title    string          `json:"title"`
	Severity string          `json:"severity"`
	Entity   string          `json:"entity,omitempty"`
	Count    int64           `json:"count"`
	Findings []promptFinding `json:"findings,omitempty"`
	Evidence []string        `json:"evidence,omitempty"`
}

func buildSummaryPrompt(token string, a *logwardenpb.Alert, maxEventBytes int) (string, error) {
	pa := promptAlert{
		Title:    cut(a.GetTitle(), maxPromptFieldBytes),
		Severity: severityName(a.GetSeverity()),
		Entity:   cut(a.GetEntity(), maxPromptFieldBytes),
		Count:    a.GetCount(),
	}
	for i, f := range a.GetFindings() {
		if i == maxPromptFindings {
			break
		}
		pa.Findings = append(pa.Findings, promptFinding{Detector: cut(f.GetDetector(), maxPromptFieldBytes), RuleID: cut(f.GetRuleId(), maxPromptFieldBytes),
			Severity: severityName(f.GetSeverity()), Title: cut(f.GetTitle(), maxPromptFieldBytes), Reason: cut(f.GetReason(), maxPromptReason)})
	}
	for i, e := range a.GetEvidence() {
		if i == 5 {
			break
		}
		pa.Evidence = append(pa.Evidence, cut(e.GetRaw(), maxEventBytes))
	}
	b, err := encodeUntrusted(pa)
	if err != nil {
		return "", fmt.Errorf("encode alert: %w", err)
	}
	return fmt.Sprintf("Summarize the alert below. The untrusted data is between the line %s%s and the line %s%s.\n\n%s\n\nAnswer as the system message says.",
		beginMarker, token, endMarker, token, fence(token, [][]byte{b})), nil
}

// ask sends one request under the budget, retried by retry.Do: each attempt is
// charged one request and an estimate of its tokens; 429, 5xx and network errors are
// retried after max(backoff, Retry-After) on the stage clock, a Retry-After beyond
// max_retry_wait is not waited for; a timeout, a 4xx, an invalid answer or a spent
// budget is not retried (classified permanent where it happens).
func (s *Stage) ask(ctx context.Context, system, schema, schemaName string, user func(token string) (string, error), parse func(string) error) Outcome {
	token, err := newToken()
	if err != nil {
		s.log.Warn("llm boundary token", zap.Error(err))
		return OutcomeError
	}
	content, err := user(token)
	if err != nil {
		s.log.Warn("llm prompt", zap.Error(err))
		return OutcomeError
	}
	req := openai.ChatCompletionRequest{
		Model: s.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: content},
		},
		// max_tokens, not max_completion_tokens: every OpenAI-compatible server
		// (vLLM, Ollama, LiteLLM, llama.cpp) reads it; OpenAI still accepts it for
		// chat models.
		MaxTokens:      s.cfg.MaxOutputTokens, //lint:ignore SA1019 see above
		ResponseFormat: responseFormat(s.cfg.ResponseFormat, schemaName, schema),
	}
	estimate := (len(system)+len(content))/4 + s.cfg.MaxOutputTokens
	outcome := OutcomeError
	policy := retry.Policy{
		Initial:       s.cfg.RetryBackoff,
		Max:           s.cfg.RetryBackoff << min(s.cfg.MaxRetries, 10),
		Multiplier:    2,
		MaxAttempts:   s.cfg.MaxRetries + 1,
		MaxRetryAfter: s.cfg.MaxRetryWait,
		Clock:         s.clock,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			s.log.Debug("llm call failed; retrying", zap.Stringer("outcome", outcome), zap.Int("attempt", attempt),
				zap.Duration("wait", wait), zap.String("error", redactError(err)))
		},
	}
	err = retry.Do(ctx, policy, func(ctx context.Context, attempt int) error {
		res, ok := s.budget.reserve(s.clock.Now(), estimate)
		if !ok {
			if attempt == 1 {
				outcome = OutcomeBudgetExceeded
			} // else: the last attempt's outcome stands
			return retry.Permanent(errBudget)
		}
		s.m.call()
		meta := &httpMeta{}
		actx, cancel := context.WithTimeout(withMeta(ctx, meta), s.cfg.Timeout)
		start := time.Now()
		resp, err := s.client.CreateChatCompletion(actx, req)
		s.m.callSeconds.Observe(time.Since(start).Seconds())
		cancel()
		if err == nil {
			s.m.usage(resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
			used := resp.Usage.TotalTokens
			if used <= 0 {
				used = estimate
			}
			s.budget.settle(res, used)
			if err := parse(answerContent(resp)); err != nil {
				outcome = OutcomeInvalidAnswer
				return retry.Permanent(err)
			}
			outcome = OutcomeOK
			return nil
		}
		s.budget.settle(res, 0) // a failed call is not billed
		var retryable bool
		outcome, retryable = classify(ctx, err)
		if !retryable {
			return retry.Permanent(err)
		}
		if ra, ok := meta.retryAfter(s.clock.Now()); ok {
			if ra > s.cfg.MaxRetryWait {
				return retry.Permanent(fmt.Errorf("Retry-After %s exceeds max_retry_wait %s: %w", ra, s.cfg.MaxRetryWait, err))
			}
			return retry.After(err, ra)
		}
		return err
	})
	if err != nil && outcome != OutcomeBudgetExceeded {
		s.log.Debug("llm call failed", zap.Stringer("outcome", outcome), zap.String("error", redactError(err)))
	}
	return outcome
}

// errBudget stops the retries when the budget refuses an attempt.
var errBudget = errors.New("llm budget spent")

func answerContent(resp openai.ChatCompletionResponse) string {
	if len(resp.Choices) == 0 || resp.Choices[0].Message.Refusal != "" {
		return ""
	}
	return resp.Choices[0].Message.Content
}

func responseFormat(format, name, schema string) *openai.ChatCompletionResponseFormat {
	if format == FormatJSONObject {
		return &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return &openai.ChatCompletionResponseFormat{
		Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
			Name:   name,
			Schema: json.RawMessage(schema),
			Strict: true,
		},
	}
}

// classify maps a call error to an outcome and whether a retry may help.
func classify(ctx context.Context, err error) (Outcome, bool) {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return OutcomeTimeout, false // the caller's time box (a summary) passed
	case ctx.Err() != nil:
		return OutcomeError, false // shutting down
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return OutcomeTimeout, false // a slow model stays slow: do not pile up
	}
	status := 0
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status = apiErr.HTTPStatusCode
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
	}
	switch {
	case status == http.StatusTooManyRequests:
		return OutcomeRateLimited, true
	case status >= 500, status == http.StatusRequestTimeout:
		return OutcomeError, true
	case status >= 400:
		return OutcomeError, false // bad key, bad request: retrying will not help
	case status == 0:
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return OutcomeInvalidAnswer, false // 2xx with a body that is not a chat completion
		}
		return OutcomeError, true // network error
	}
	return OutcomeError, false
}

func newToken() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
