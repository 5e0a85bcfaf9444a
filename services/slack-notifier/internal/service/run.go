package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/actions"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/silence"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/sink"
)

// Options are what Run needs, built by the command from its configuration.
type Options struct {
	// Service names the notifier in dead letters and logs.
	Service  string
	Kafka    kafkax.Config
	Consumer kafkax.ConsumerConfig // GroupID and Topics (the alerts topic) set
	Writer   kafkax.WriterConfig
	// Partitions of the alerts topic and its dead-letter topic when Run creates them.
	Partitions int
	// SilencesTopic is the compacted topic of silences (SilencesTopic spec), read
	// before the first alert and followed while Run runs.
	SilencesTopic string
	HTTP          obs.HTTPConfig
	// Delivery configures the pipeline (grouping, pace, overflow, retries).
	Delivery deliver.Options
	Sink     deliver.Sink
	// Actions, when set, gives the bot's messages their buttons (Sink must take them).
	Actions *ActionsOptions
	// RestartDelay is the pause before a failed consumer or table reader is replaced (0: 2 s).
	RestartDelay time.Duration
	Clock        clock.Clock
}

// ActionsOptions turn the buttons on: Acknowledge, Silence 1h / 24h, Not an issue.
type ActionsOptions struct {
	// TargetsTopic is the compacted topic of what the buttons act on (actions.TopicSpec).
	TargetsTopic string
	// MaxAge: older messages' buttons answer "too old"; their records leave the topic.
	MaxAge time.Duration
	// FeedbackTopic receives "not an issue" and acknowledgements (FeedbackTopic spec).
	FeedbackTopic string
	// NotAnIssueFor is how long the classifier accepts a pattern marked not an issue.
	NotAnIssueFor time.Duration
	// Slack is the client with the bot token and the app-level token (Socket Mode).
	Slack *slack.Client
	// AllowedUsers, when not empty, are the only users who may act; else the members
	// of the message's channel may.
	AllowedUsers []string
	// MembersTTL is how long a channel's member list is reused (0: 1 min).
	MembersTTL time.Duration
}

// FeedbackTopic is the spec of the feedback topic: records kept forever (an audit
// trail; the classifier reads all of it at start), one partition. The classifier
// creates it the same way.
func FeedbackTopic(name string) kafkax.TopicSpec {
	return kafkax.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: 1, Retention: -1}
}

// actionSink is a sink whose messages can carry buttons (sink.SlackBot).
type actionSink interface {
	EnableActions(t sink.Targets, log *zap.Logger)
}

// Run serves the ops endpoints and consumes the alerts topic until ctx ends. A consumer
// that fails (the broker gone for longer than the client retries) is replaced with a
// fresh pipeline: unacknowledged alerts come back from Kafka. The silences (and, with
// actions, the action targets) are read to their end before the first alert. It
// returns nil after a clean stop.
func Run(ctx context.Context, o Options, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	clk := clock.OrReal(o.Clock)
	if o.RestartDelay <= 0 {
		o.RestartDelay = 2 * time.Second
	}
	if len(o.Consumer.Topics) != 1 {
		return fmt.Errorf("service: want one alerts topic, got %v", o.Consumer.Topics)
	}
	if o.SilencesTopic == "" {
		return errors.New("service: no silences topic")
	}
	var bot actionSink
	if o.Actions != nil {
		var ok bool
		if bot, ok = o.Sink.(actionSink); !ok {
			return fmt.Errorf("service: buttons need the Slack bot sink, not %s", o.Sink.Name())
		}
	}
	topic := o.Consumer.Topics[0]
	reg := obs.NewRegistry()
	km := kafkax.NewMetrics(reg)
	o.Delivery.Metrics = deliver.NewMetrics(reg)
	o.Delivery.Clock = clk
	o.Delivery.Log = log.Named("deliver")
	sm := NewMetrics(reg)

	admin, err := kafkax.NewAdmin(o.Kafka)
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	specs := []kafkax.TopicSpec{
		{Name: topic, Partitions: o.Partitions, ReplicationFactor: 1},
		{Name: kafkax.DLQTopic(topic), Partitions: o.Partitions, ReplicationFactor: 1},
		SilencesTopic(o.SilencesTopic),
	}
	if a := o.Actions; a != nil {
		specs = append(specs, actions.TopicSpec(a.TargetsTopic, a.MaxAge), FeedbackTopic(a.FeedbackTopic))
	}
	if err := admin.EnsureTopics(ctx, specs...); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	w, err := kafkax.NewWriter(o.Kafka, o.Writer, km)
	if err != nil {
		return fmt.Errorf("kafka writer: %w", err)
	}
	defer w.Close()

	silences := silence.NewStore(o.SilencesTopic, w, log.Named("silence"))
	registerSilenceMetrics(reg, silences, clk)
	o.Delivery.Mute = silences.Set
	loaded := []chan struct{}{make(chan struct{})}
	type table struct {
		topic  string
		apply  func(kafkax.Message)
		loaded chan struct{}
	}
	tables := []table{{o.SilencesTopic, silences.Apply, loaded[0]}}

	var pipelines current
	var socket *actions.Socket
	if a := o.Actions; a != nil {
		alog := log.Named("actions")
		targets := actions.NewTargets(a.TargetsTopic, w, a.MaxAge, clk, alog)
		targets.OnChange = pipelines.refresh
		invalid := prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_action_target_records_invalid_total",
			Help: "Records of the action targets topic that are not valid targets (skipped)."})
		targets.Invalid = invalid.Inc
		reg.MustRegister(invalid)
		bot.EnableActions(targets, alog)
		o.Delivery.Acks = targets
		ttl := a.MembersTTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		h := actions.NewHandler(actions.Options{Targets: targets, Silences: silences, Feedback: w, FeedbackTopic: a.FeedbackTopic,
			Chat: a.Slack, Members: actions.NewMembers(a.Slack, a.AllowedUsers, ttl, clk), NotAnIssueFor: a.NotAnIssueFor,
			Clock: clk, Log: alog, Metrics: actions.NewMetrics(reg)})
		socket = actions.NewSocket(a.Slack, h, clk, alog)
		loaded = append(loaded, make(chan struct{}))
		tables = append(tables, table{a.TargetsTopic, targets.Apply, loaded[1]})
	}

	ready := func(ctx context.Context) error {
		if !isLoaded(loaded...) {
			return errors.New("loading the silences and action targets")
		}
		return admin.Ping(ctx)
	}
	srv, err := obs.NewServer(o.HTTP.Addr, reg, ready, log.Named("http"))
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	log.Info("starting", zap.String("sink", o.Sink.Name()), zap.String("topic", topic), zap.String("group", o.Consumer.GroupID),
		zap.Strings("group_by", o.Delivery.Group.By), zap.Duration("group_wait", o.Delivery.Group.Wait),
		zap.Float64("rate_per_second", o.Delivery.RatePerSecond), zap.Int("backlog", o.Delivery.Backlog()),
		zap.String("silences", o.SilencesTopic), zap.Bool("buttons", o.Actions != nil), zap.String("http", srv.Addr()))

	g, gctx := errgroup.WithContext(ctx)
	stopHTTP, cancelHTTP := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHTTP()
	g.Go(func() error { return srv.Run(stopHTTP) })
	for _, t := range tables {
		g.Go(func() error { return follow(gctx, admin, t.topic, t.apply, t.loaded, clk, o.RestartDelay, log) })
	}
	g.Go(func() error { return expireSilences(gctx, silences, clk, log) })
	if socket != nil {
		g.Go(func() error {
			if waitLoaded(gctx, loaded...) != nil {
				return nil
			}
			return socket.Run(gctx)
		})
	}
	g.Go(func() error {
		defer cancelHTTP()
		if waitLoaded(gctx, loaded...) != nil {
			return nil
		}
		active, pending := silences.Count(clk.Now())
		log.Info("silences loaded", zap.String("topic", o.SilencesTopic), zap.Int("active", active), zap.Int("pending", pending))
		for {
			err := consume(gctx, o, w, km, sm, &pipelines, log)
			if gctx.Err() != nil {
				return nil
			}
			log.Error("consumer failed; restarting", zap.Duration("in", o.RestartDelay), zap.Error(err))
			if clock.Sleep(gctx, clk, o.RestartDelay) != nil {
				return nil
			}
		}
	})
	err = g.Wait()
	log.Info("stopped")
	return err
}

// current is the running delivery pipeline (replaced with the consumer), for the
// actions' in-place refreshes.
type current struct {
	mu sync.Mutex
	p  *deliver.Pipeline
}

func (c *current) set(p *deliver.Pipeline) {
	c.mu.Lock()
	c.p = p
	c.mu.Unlock()
}

// refresh re-renders a message whose marks changed, if its group is open here.
func (c *current) refresh(group, ref string) {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if p != nil {
		p.Refresh(group, ref)
	}
}

// expireEvery is how often ended silences are tombstoned.
const expireEvery = 15 * time.Second

// expireSilences writes the tombstones of ended silences until ctx ends. Matching
// already ignores an ended silence: the tombstone only empties the table.
func expireSilences(ctx context.Context, s *silence.Store, clk clock.Clock, log *zap.Logger) error {
	for clock.Sleep(ctx, clk, expireEvery) == nil {
		if _, err := s.ExpireEnded(ctx, clk.Now()); err != nil && ctx.Err() == nil {
			log.Warn("tombstones of ended silences", zap.Error(err))
		}
	}
	return nil
}

// registerSilenceMetrics counts silences by state and invalid silence records.
func registerSilenceMetrics(reg prometheus.Registerer, s *silence.Store, clk clock.Clock) {
	invalid := prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_silence_records_invalid_total",
		Help: "Records of the silences topic that are not valid silences (skipped)."})
	s.Invalid = invalid.Inc
	reg.MustRegister(invalid,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logwarden_silences", ConstLabels: prometheus.Labels{"state": "active"},
			Help: "Silences by state: active (muting now) or pending (starting later)."},
			func() float64 { a, _ := s.Count(clk.Now()); return float64(a) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "logwarden_silences", ConstLabels: prometheus.Labels{"state": "pending"},
			Help: "Silences by state: active (muting now) or pending (starting later)."},
			func() float64 { _, p := s.Count(clk.Now()); return float64(p) }),
	)
}

// consume runs one consumer-group member and its delivery pipeline until ctx ends or the
// consumer fails. The pipeline outlives the handler calls: it stops once the consumer
// returned (after its shutdown grace), so due notifications are still delivered and
// acknowledged while the consumer drains.
func consume(ctx context.Context, o Options, w *kafkax.Writer, km *kafkax.Metrics, sm *Metrics, pipelines *current, log *zap.Logger) error {
	cons, err := kafkax.NewConsumer(o.Kafka, o.Consumer, w, log.Named("consumer"), km)
	if err != nil {
		return err
	}
	p := deliver.New(o.Delivery, o.Sink)
	pipelines.set(p)
	defer pipelines.set(nil)
	h := NewHandler(p, o.Service, sm, log)
	g, gctx := errgroup.WithContext(ctx)
	pctx, stopPipeline := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipeline()
	g.Go(func() error { return p.Run(pctx) })
	g.Go(func() error {
		defer stopPipeline()
		return cons.RunAsync(gctx, h.Handle)
	})
	return g.Wait()
}
