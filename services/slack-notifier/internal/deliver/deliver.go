package deliver

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/retry"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/group"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Sink sends one notification. retry says whether a failure is transient.
type Sink interface {
	Notify(ctx context.Context, n notify.Notification) (retry bool, err error)
	Name() string
}

// Router is implemented by a sink with several destinations that are rate limited
// separately (a bot token's channels): each destination gets its own queue and pacing.
// Sinks without it are one destination.
type Router interface {
	Destination(n notify.Notification) string
}

// Updater is implemented by a sink that can re-render a group's message in place (the
// bot). Notifications with Update set go to it; other sinks have no such messages and
// the notification is settled without a request.
type Updater interface {
	Update(ctx context.Context, n notify.Notification) (retry bool, err error)
}

// Acks tells whether somebody acknowledged a message (by its ref), and at which
// severity: the group's later alerts up to that severity only update the message in
// place; a more severe one is posted again.
type Acks interface {
	Acknowledged(ref string) (logwardenpb.Severity, bool)
}

// Receipt is the delivery accounting of one alert. The pipeline settles it exactly once:
// Ack when a notification covering the alert was accepted (or the alert is a
// redelivery of one already taken), Reject when its notification was refused for good
// (the alert then belongs in the dead-letter topic with reason). An alert whose
// notification is still pending when the pipeline stops is not settled at all.
type Receipt interface {
	Ack(ctx context.Context) error
	Reject(ctx context.Context, reason error) error
}

// Muter holds back the alerts a silence covers (silence.Set): id names the silence.
type Muter interface {
	Muted(a *logwardenpb.Alert, now time.Time) (id string, ok bool)
}

// Options configure a Pipeline.
type Options struct {
	Group group.Config
	// RatePerSecond is the pace of each destination (<= 0: unlimited).
	RatePerSecond float64
	// OverflowAfter bounds a destination's backlog: what RatePerSecond cannot send within
	// it is folded into one "N more alerts" message (<= 0, or no rate: never folded).
	OverflowAfter time.Duration
	// Retry is the schedule of transient failures; its Clock is replaced by Clock. It
	// should cap Retry-After (MaxRetryAfter): a destination waits, the others do not.
	Retry retry.Policy
	// Mute, when set, is asked about every alert as it arrives and about every
	// notification when it is due: a muted alert is acknowledged without being posted.
	Mute Muter
	// Acks, when set, holds back the follow-ups of acknowledged groups (see Acks).
	Acks    Acks
	Clock   clock.Clock
	Log     *zap.Logger
	Metrics *Metrics
}

// Backlog is the most notifications a destination queues before folding the rest into
// one "N more alerts" message: what the rate sends within OverflowAfter (at least 2, so
// one message can be sent on its own beside the folded one); 0 means unbounded.
func (o Options) Backlog() int {
	if o.RatePerSecond <= 0 || o.OverflowAfter <= 0 {
		return 0
	}
	return max(int(o.RatePerSecond*o.OverflowAfter.Seconds()), 2)
}

type item struct {
	alert *logwardenpb.Alert
	r     Receipt
}

// Pipeline groups alerts and delivers their notifications to one sink: Run owns the
// grouping and one goroutine per destination.
type Pipeline struct {
	o       Options
	sink    Sink
	in      chan item
	refresh chan refresh
}

// refresh asks for a group's message to be re-rendered in place.
type refresh struct{ group, ref string }

// New builds a pipeline; Run drives it.
func New(o Options, s Sink) *Pipeline {
	o.Clock = clock.OrReal(o.Clock)
	o.Retry.Clock = o.Clock
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Pipeline{o: o, sink: s, in: make(chan item, 1024), refresh: make(chan refresh, 64)}
}

// Refresh asks for the message ref of group to be re-rendered in place (somebody acted
// on it); Run does it if the group is still open here with that message. It never
// blocks: it reports false when too many refreshes wait already (the next change or
// follow-up renders the message anyway).
func (p *Pipeline) Refresh(group, ref string) bool {
	select {
	case p.refresh <- refresh{group, ref}:
		return true
	default:
		return false
	}
}

// Add hands an alert and its receipt to the pipeline.
func (p *Pipeline) Add(ctx context.Context, a *logwardenpb.Alert, r Receipt) error {
	select {
	case p.in <- item{a, r}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run owns the grouping and the destinations until ctx ends. Notifications not
// delivered by then leave their receipts unsettled (their alerts are redelivered to the
// next consumer).
func (p *Pipeline) Run(ctx context.Context) error {
	g := group.New[Receipt](p.o.Group)
	dests := map[string]*destination{}
	var wg sync.WaitGroup
	defer wg.Wait()
	add := func(it item) {
		if p.muted(it.alert, p.o.Clock.Now()) {
			p.settle(ctx, it.r)
			return
		}
		if !g.Add(p.o.Clock.Now(), it.alert, it.r) {
			if err := it.r.Ack(ctx); err != nil {
				p.o.Log.Warn("ack of a redelivered alert", zap.String("alert", it.alert.GetId()), zap.Error(err))
			}
		}
	}
	for {
		var timer <-chan time.Time
		if next, ok := g.Next(); ok {
			timer = p.o.Clock.After(next.Sub(p.o.Clock.Now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case it := <-p.in:
			add(it)
			// Take what is already queued before looking at timers (storms).
			for drained := false; !drained; {
				select {
				case it := <-p.in:
					add(it)
				default:
					drained = true
				}
			}
		case <-timer:
		case r := <-p.refresh:
			n, ok := g.Current(r.group, r.ref)
			if !ok {
				continue
			}
			p.route(ctx, dests, &wg, p.o.Clock.Now(), []group.Batch[Receipt]{{Notification: n}})
			continue
		}
		now := p.o.Clock.Now()
		var due []group.Batch[Receipt]
		for _, b := range g.Due(now) {
			if p.muted(b.Alert, now) {
				p.settle(ctx, b.Tokens...)
				continue
			}
			if p.o.Acks != nil && b.Seq > 0 {
				if sev, ok := p.o.Acks.Acknowledged(b.Ref); ok && b.Severity <= sev {
					b.Update = true // acknowledged: no new message, the old one shows the count
				}
			}
			due = append(due, b)
		}
		p.route(ctx, dests, &wg, now, due)
		p.o.Metrics.Groups.Set(float64(g.Open()))
	}
}

// route queues batches at their destinations, starting a destination's goroutine
// (owned by Run, awaited through wg) on its first batch.
func (p *Pipeline) route(ctx context.Context, dests map[string]*destination, wg *sync.WaitGroup, now time.Time, batches []group.Batch[Receipt]) {
	byDest := map[string][]group.Batch[Receipt]{}
	for _, b := range batches {
		name := ""
		if r, ok := p.sink.(Router); ok {
			name = r.Destination(b.Notification)
		}
		byDest[name] = append(byDest[name], b)
	}
	for name, bs := range byDest {
		d := dests[name]
		if d == nil {
			d = p.newDestination(name)
			dests[name] = d
			wg.Add(1)
			go func() { // owned by Run: stops with ctx, awaited on return
				defer wg.Done()
				d.run(ctx)
			}()
		}
		d.push(now, bs)
	}
}

// muted reports whether a silence covers a at now (and counts it).
func (p *Pipeline) muted(a *logwardenpb.Alert, now time.Time) bool {
	if p.o.Mute == nil {
		return false
	}
	id, ok := p.o.Mute.Muted(a, now)
	if ok {
		p.o.Log.Debug("alert silenced", zap.String("alert", a.GetId()), zap.String("silence", id))
	}
	return ok
}

// settle acknowledges alerts that are not to be posted (silenced).
func (p *Pipeline) settle(ctx context.Context, rs ...Receipt) {
	p.o.Metrics.Silenced.Add(float64(len(rs)))
	for _, r := range rs {
		if err := r.Ack(ctx); err != nil {
			p.o.Log.Warn("ack of a silenced alert", zap.Error(err))
		}
	}
}

// destination is one rate-limited target: a priority queue of notifications (most
// severe first, then oldest) drained by its own goroutine at the configured pace.
type destination struct {
	p    *Pipeline
	name string
	wake chan struct{}
	next time.Time // pacing: earliest next send (the run goroutine's own)

	mu sync.Mutex
	q  queue
}

func (p *Pipeline) newDestination(name string) *destination {
	return &destination{p: p, name: name, wake: make(chan struct{}, 1), q: queue{limit: p.o.Backlog(), dest: name}}
}

// push queues the batches due at now (all at once, so the most severe goes first).
func (d *destination) push(now time.Time, bs []group.Batch[Receipt]) {
	d.mu.Lock()
	folded := 0
	for _, b := range bs {
		folded += d.q.push(&entry{n: b.Notification, receipts: b.Tokens, ready: now})
	}
	backlog := d.q.Len()
	d.mu.Unlock()
	d.p.o.Metrics.folded(folded)
	d.p.o.Metrics.Backlog.WithLabelValues(d.label()).Set(float64(backlog))
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *destination) label() string {
	if d.name == "" {
		return d.p.sink.Name()
	}
	return d.name
}

// take removes the most urgent notification, or returns nil.
func (d *destination) take() *entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.q.Len() == 0 {
		return nil
	}
	return d.q.pop()
}

// requeue puts back a notification that failed transiently: the next attempt takes the
// most urgent one, which may have arrived meanwhile.
func (d *destination) requeue(e *entry) {
	d.mu.Lock()
	folded := d.q.push(e)
	d.mu.Unlock()
	d.p.o.Metrics.folded(folded)
}

func (d *destination) run(ctx context.Context) {
	for {
		e := d.take()
		if e == nil {
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
				continue
			}
		}
		if !d.deliver(ctx, e) {
			return
		}
	}
}

// deliver sends the most urgent queued notification (starting with e), retrying
// transient failures through retry.Do, and settles the receipts of the one that was
// accepted or rejected. It returns false when ctx ended first.
func (d *destination) deliver(ctx context.Context, e *entry) bool {
	o := d.p.o
	pol := o.Retry
	var cur *entry
	pol.OnRetry = func(attempt int, err error, wait time.Duration) {
		if _, ok := retry.RetryAfter(err); ok {
			o.Metrics.Posts.WithLabelValues("rate_limited").Inc()
		} else {
			o.Metrics.Posts.WithLabelValues("retry").Inc()
		}
		o.Log.Warn("notification failed; retrying", zap.String("sink", d.p.sink.Name()), zap.String("destination", d.name),
			zap.String("group", cur.n.GroupKey), zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
	}
	err := retry.Do(ctx, pol, func(ctx context.Context, attempt int) error {
		if attempt > 1 {
			d.requeue(cur)
			if cur = d.take(); cur == nil { // cannot happen: cur was just queued
				return retry.Permanent(fmt.Errorf("destination %q: empty queue", d.name))
			}
		} else {
			cur = e
		}
		if err := d.pace(ctx); err != nil {
			return err
		}
		ok, err := d.send(ctx, cur.n)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil || ok:
			return err
		}
		return retry.Permanent(err)
	})
	switch {
	case err == nil:
		o.Metrics.Posts.WithLabelValues("ok").Inc()
		cur.settle(ctx, nil, o.Log)
	case ctx.Err() != nil:
		return false // cur stays unsettled: its alerts are redelivered
	case cur.n.Update:
		// The group's message could not be updated (deleted, say): its alerts were
		// acknowledged by a person already; they are not dead letters.
		o.Metrics.Posts.WithLabelValues("failed").Inc()
		o.Log.Warn("updating a message in place failed", zap.String("sink", d.p.sink.Name()), zap.String("destination", d.name),
			zap.String("group", cur.n.GroupKey), zap.Error(err))
		cur.settle(ctx, nil, o.Log)
	default:
		o.Metrics.Posts.WithLabelValues("failed").Inc()
		o.Metrics.Posts.WithLabelValues("dead_letter").Inc()
		o.Log.Error("notification rejected permanently; alerts go to the DLQ", zap.String("sink", d.p.sink.Name()),
			zap.String("destination", d.name), zap.String("group", cur.n.GroupKey), zap.Int("alerts", len(cur.receipts)), zap.Error(err))
		cur.settle(ctx, fmt.Errorf("%s: %w", d.p.sink.Name(), err), o.Log)
	}
	d.mu.Lock()
	backlog := d.q.Len()
	d.mu.Unlock()
	o.Metrics.Backlog.WithLabelValues(d.label()).Set(float64(backlog))
	return true
}

// send posts n, or re-renders its group's message when n.Update is set (a sink that
// cannot has no such message: nothing to do).
func (d *destination) send(ctx context.Context, n notify.Notification) (bool, error) {
	if n.Update {
		if u, ok := d.p.sink.(Updater); ok {
			return u.Update(ctx, n)
		}
		return false, nil
	}
	return d.p.sink.Notify(ctx, n)
}

// pace waits for the destination's next send slot.
func (d *destination) pace(ctx context.Context) error {
	rate := d.p.o.RatePerSecond
	if rate <= 0 {
		return ctx.Err()
	}
	clk := d.p.o.Clock
	if err := clock.Sleep(ctx, clk, d.next.Sub(clk.Now())); err != nil {
		return err
	}
	d.next = clk.Now().Add(time.Duration(float64(time.Second) / rate))
	return nil
}

// settle acks (reason == nil) or rejects every receipt of e.
func (e *entry) settle(ctx context.Context, reason error, log *zap.Logger) {
	for _, r := range e.receipts {
		var err error
		if reason == nil {
			err = r.Ack(ctx)
		} else {
			err = r.Reject(ctx, reason)
		}
		if err != nil {
			log.Warn("settling an alert's delivery", zap.String("group", e.n.GroupKey), zap.Error(err))
		}
	}
}
