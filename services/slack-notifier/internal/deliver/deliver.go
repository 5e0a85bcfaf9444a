package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Sink sends one notification. retry says whether a failure is transient.
type Sink interface {
	Notify(ctx context.Context, n notify.Notification) (retry bool, err error)
	Name() string
}

// Clock is the time source (a fake one in tests).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// After is time.After.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a Pipeline.
type Options struct {
	Group         group.Config
	RatePerSecond float64       // per destination; <= 0: unlimited
	BackoffMin    time.Duration // first retry delay
	BackoffMax    time.Duration // cap
	Clock         Clock
	Log           *zap.Logger
	Metrics       *Metrics
	// Done is called once per batch, from the pipeline goroutine, after delivery (err ==
	// nil) or a permanent failure (err != nil: the caller dead-letters the tokens).
	Done func(ctx context.Context, b group.Batch, err error)
}

// Metrics are the notifier's numbers.
type Metrics struct {
	Posts  *prometheus.CounterVec
	Groups prometheus.Gauge
}

// NewMetrics registers the metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Posts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_slack_posts_total",
			Help: "Notification attempts by outcome (ok, retry, rate_limited, failed, dead_letter)."}, []string{"outcome"}),
		Groups: prometheus.NewGauge(prometheus.GaugeOpts{Name: "logwarden_notifier_groups", Help: "Alert groups held open."}),
	}
	if reg != nil {
		reg.MustRegister(m.Posts, m.Groups)
	}
	return m
}

type item struct {
	alert *logwardenpb.Alert
	tok   group.Token
	dup   func()
}

// Pipeline groups alerts and delivers notifications to one sink.
type Pipeline struct {
	o    Options
	sink Sink
	in   chan item
	next time.Time // rate limiter: earliest next send
}

// New builds a pipeline; Run drives it.
func New(o Options, s Sink) *Pipeline {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 500 * time.Millisecond
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = 30 * time.Second
	}
	return &Pipeline{o: o, sink: s, in: make(chan item, 1024)}
}

// Add hands an alert to the pipeline. dup is called (from the pipeline goroutine) when
// the alert id was seen before, so the caller can acknowledge it at once.
func (p *Pipeline) Add(ctx context.Context, a *logwardenpb.Alert, tok group.Token, dup func()) error {
	select {
	case p.in <- item{a, tok, dup}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run owns the grouping until ctx ends. Notifications not delivered by then are left
// unacknowledged (their alerts are redelivered to the next consumer).
func (p *Pipeline) Run(ctx context.Context) error {
	g := group.New(p.o.Group)
	for {
		var timer <-chan time.Time
		if next, ok := g.Next(); ok {
			timer = p.o.Clock.After(next.Sub(p.o.Clock.Now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-p.in:
			if !g.Add(p.o.Clock.Now(), it.alert, it.tok) && it.dup != nil {
				it.dup()
			}
			// Drain what is already queued before looking at timers (storms).
			for drained := false; !drained; {
				select {
				case it := <-p.in:
					if !g.Add(p.o.Clock.Now(), it.alert, it.tok) && it.dup != nil {
						it.dup()
					}
				default:
					drained = true
				}
			}
		case <-timer:
		}
		for _, b := range g.Due(p.o.Clock.Now()) {
			err := p.deliver(ctx, b.Notification)
			if ctx.Err() != nil {
				return nil
			}
			if p.o.Done != nil {
				p.o.Done(ctx, b, err)
			}
		}
		p.o.Metrics.Groups.Set(float64(g.Open()))
	}
}

func (p *Pipeline) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.o.Clock.After(d):
		return nil
	}
}

// deliver sends n, retrying transient failures until ctx ends; it returns nil when the
// sink accepted n and the permanent error otherwise.
func (p *Pipeline) deliver(ctx context.Context, n notify.Notification) error {
	backoff := p.o.BackoffMin
	for attempt := 1; ; attempt++ {
		if p.o.RatePerSecond > 0 {
			if err := p.sleep(ctx, p.next.Sub(p.o.Clock.Now())); err != nil {
				return err
			}
			p.next = p.o.Clock.Now().Add(time.Duration(float64(time.Second) / p.o.RatePerSecond))
		}
		retry, err := p.sink.Notify(ctx, n)
		if err == nil {
			p.o.Metrics.Posts.WithLabelValues("ok").Inc()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retry {
			p.o.Metrics.Posts.WithLabelValues("failed").Inc()
			p.o.Log.Error("notification rejected permanently; alerts go to the DLQ",
				zap.String("sink", p.sink.Name()), zap.String("group", n.GroupKey), zap.Error(err))
			return fmt.Errorf("%s: %w", p.sink.Name(), err)
		}
		wait := backoff
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) {
			p.o.Metrics.Posts.WithLabelValues("rate_limited").Inc()
			wait = max(ra.RetryAfter(), p.o.BackoffMin)
		} else {
			p.o.Metrics.Posts.WithLabelValues("retry").Inc()
			backoff = min(backoff*2, p.o.BackoffMax)
		}
		p.o.Log.Warn("notification failed; retrying", zap.String("sink", p.sink.Name()),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}
