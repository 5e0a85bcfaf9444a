package service

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/feedback"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/statetopic"
)

// Config is everything Run needs; the command fills it from its configuration.
type Config struct {
	Kafka             kafkax.Config
	HTTP              obs.HTTPConfig
	Consumer          kafkax.ConsumerConfig // GroupID and Topics set
	Writer            kafkax.WriterConfig
	Topics            Topics
	Partitions        int
	ReplicationFactor int
	Engine            engine.Config
	LLM               llm.Config
	ReplayEvents      int64
	DedupEvents       int
	RulesPoll         time.Duration
	// StateFile keeps the engine's learnt state across restarts ("" off), saved
	// every StateSaveInterval and at exit.
	StateFile         string
	StateSaveInterval time.Duration
	// StateTopic shares the learnt state between replicas and keeps it across restarts
	// ("" off): read to its end before the first event, followed, saved to every
	// StateSaveInterval and at exit (internal/statetopic).
	StateTopic string
	// FeedbackTopic is where people's "not an issue" records arrive ("" off): read to
	// its end before the first event, then followed.
	FeedbackTopic string
	// Reload receives a value for every SIGHUP (may be nil).
	Reload <-chan os.Signal
}

// Run is the service: it builds the engine, the LLM stage, the Kafka admin client,
// the handler and the ops server (/healthz, /readyz, /metrics) from cfg, logs one
// line saying what it runs, and consumes until ctx ends (Consume).
func Run(ctx context.Context, cfg Config, log *zap.Logger) error {
	eng, err := engine.New(cfg.Engine, log.Named("engine"))
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	reg := obs.NewRegistry()
	// rule counts for /metrics, updated by reloads (the engine itself is not concurrency-safe)
	var rulesLoaded, rulesSkipped atomic.Int64
	countRules := func() {
		rulesLoaded.Store(int64(eng.Rules()))
		rulesSkipped.Store(int64(eng.SkippedRules()))
	}
	countRules()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logwarden_rules_loaded", Help: "Sigma rules in use (detection and correlation)."},
			func() float64 { return float64(rulesLoaded.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logwarden_rules_skipped", Help: "Sigma rules left out of the last load for an unsupported feature (logged with the reason; rules check lists them)."},
			func() float64 { return float64(rulesSkipped.Load()) }))
	stage, err := llm.New(cfg.LLM, log.Named("llm"), reg, nil)
	if err != nil {
		return fmt.Errorf("llm stage: %w", err)
	}
	defer stage.Close()
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return err
	}
	defer admin.Close()
	ho := HandlerOptions{Topics: cfg.Topics, Stage: stage, Metrics: NewMetrics(reg), Log: log, OnReload: countRules,
		DedupEvents: cfg.DedupEvents, ReplayEvents: cfg.ReplayEvents, Replay: admin.ReadPartitionRange}
	if stage.Summarizes() {
		ho.Summarizer, ho.SummaryTimeout, ho.SummaryConcurrency = stage, cfg.LLM.SummaryTimeout, cfg.LLM.Concurrency
	}
	var accepted *feedback.Set
	feedbackLoaded := make(chan struct{})
	if cfg.FeedbackTopic != "" {
		accepted = feedback.NewSet(log.Named("feedback"))
		registerFeedbackMetrics(reg, accepted)
		ho.Feedback = NewFeedback(accepted, reg)
		if err := admin.EnsureTopics(ctx, feedback.TopicSpec(cfg.FeedbackTopic)); err != nil {
			return fmt.Errorf("create topics: %w", err)
		}
	} else {
		close(feedbackLoaded)
	}
	h := NewHandler(eng, ho)
	registerStateSizes(reg, eng, h)
	var store *StateStore
	if cfg.StateFile != "" {
		store = NewStateStore(cfg.StateFile, cfg.StateSaveInterval, eng, h, reg, log.Named("state"))
		if err := store.Load(); err != nil {
			return fmt.Errorf("state_file (STATE_FILE): %w", err)
		}
	}
	km := kafkax.NewMetrics(reg)
	var shared *statetopic.Store
	stateLoaded := make(chan struct{})
	if cfg.StateTopic != "" {
		if err := admin.EnsureTopics(ctx, statetopic.TopicSpec(cfg.StateTopic, cfg.ReplicationFactor)); err != nil {
			return fmt.Errorf("create topics: %w", err)
		}
		w, err := kafkax.NewWriter(cfg.Kafka, cfg.Writer, km)
		if err != nil {
			return fmt.Errorf("kafka writer: %w", err)
		}
		defer w.Close()
		shared = statetopic.New(statetopic.Options{Topic: cfg.StateTopic, Interval: cfg.StateSaveInterval, Admin: admin, Writer: w,
			Fleet: eng, Partitions: h, Locked: h.locked, Log: log.Named("statetopic"), Registerer: reg})
		h.users = shared
	} else {
		close(stateLoaded)
	}
	ready := func(ctx context.Context) error {
		for _, c := range []struct {
			loaded <-chan struct{}
			topic  string
		}{{feedbackLoaded, cfg.FeedbackTopic}, {stateLoaded, cfg.StateTopic}} {
			select {
			case <-c.loaded:
			default:
				return fmt.Errorf("loading %s", c.topic)
			}
		}
		return admin.Ping(ctx)
	}
	srv, err := obs.NewServer(cfg.HTTP.Addr, reg, ready, log.Named("http"))
	if err != nil {
		return fmt.Errorf("http.addr (HTTP_ADDR): %w", err)
	}
	log.Info(describe(cfg, stage, srv.Addr(), eng.Rules(), eng.SkippedRules()))

	o := Options{Kafka: cfg.Kafka, Admin: admin, Consumer: cfg.Consumer, Writer: cfg.Writer, Topics: cfg.Topics,
		Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor,
		RulesDir: cfg.Engine.RulesDir, RulesPoll: cfg.RulesPoll, Reload: cfg.Reload}
	if stage.Enabled() {
		o.Stage = stage
	}
	g, gctx := errgroup.WithContext(ctx)
	stopHTTP, cancelHTTP := context.WithCancel(gctx)
	g.Go(func() error { return srv.Run(stopHTTP) })
	if accepted != nil {
		g.Go(func() error { return followFeedback(gctx, admin, cfg.FeedbackTopic, accepted, feedbackLoaded, log) })
	}
	if shared != nil {
		g.Go(func() error { return shared.Run(gctx, func() { close(stateLoaded) }) })
	}
	g.Go(func() error {
		defer cancelHTTP()
		// the feedback first: an accepted pattern must not alert after a restart; the
		// learnt state too: a replica starts knowing what the fleet knows
		for _, loaded := range []<-chan struct{}{feedbackLoaded, stateLoaded} {
			select {
			case <-loaded:
			case <-gctx.Done():
				return nil
			}
		}
		if accepted != nil {
			log.Info("feedback loaded", zap.String("topic", cfg.FeedbackTopic), zap.Int("accepted", accepted.Active(time.Now())))
		}
		err := Consume(gctx, o, h, km, log)
		if shared != nil { // the users up to the last batch, for the next owner of the partitions
			sctx, cancel := obs.GraceContext(ctx, 5*time.Second)
			if serr := shared.Save(sctx); serr != nil {
				log.Warn("saving the state to the state topic at exit failed", zap.Error(serr))
			}
			cancel()
		}
		return err
	})
	if store != nil {
		g.Go(func() error { return store.Run(gctx) })
	}
	return g.Wait()
}

// describe is the start line: topics, group, brokers, rules, the LLM stage, the ops address.
func describe(cfg Config, stage *llm.Stage, addr string, loaded, skipped int) string {
	verdicts := "off"
	if cfg.Topics.VerdictsOn() {
		mode, ev := cfg.Topics.VerdictsMode, cfg.Topics.VerdictEvent
		if mode == "" {
			mode = VerdictsAll
		}
		if ev == "" {
			ev = VerdictEventFull
		}
		verdicts = fmt.Sprintf("%s (%s, event %s)", cfg.Topics.Verdicts, mode, ev)
	}
	rules := fmt.Sprintf("%d loaded, %d skipped (rules check lists why)", loaded, skipped)
	if cfg.Engine.RulesDir != "" {
		rules += ", extra rules from " + cfg.Engine.RulesDir
	}
	dedup := "off"
	if cfg.DedupEvents > 0 {
		dedup = fmt.Sprintf("last %d ids per partition", cfg.DedupEvents)
	}
	return fmt.Sprintf("anomaly-classifier: %s → verdicts %s, alerts %s; group %s; brokers %v; rules %s; dedup %s; %s; http %s",
		strings.Join(cfg.Consumer.Topics, ","), verdicts, cfg.Topics.Alerts, cfg.Consumer.GroupID, cfg.Kafka.Brokers, rules, dedup, stage.Describe(), addr)
}
