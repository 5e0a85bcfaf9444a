package kafkax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/pkg/retry"
)

// ConsumerConfig tunes a consumer-group member.
type ConsumerConfig struct {
	GroupID           string        `mapstructure:"group_id" desc:"consumer group id"`
	Topics            []string      `mapstructure:"topics" desc:"topics to consume"`
	BatchSize         int           `mapstructure:"batch_size" desc:"max messages handed to the handler at once"`
	Linger            time.Duration `mapstructure:"linger" desc:"how long a batch waits for more messages once it has one"`
	MaxInFlight       int           `mapstructure:"max_in_flight" desc:"max fetched but unacknowledged messages (async handlers)"`
	StartOffset       string        `mapstructure:"start_offset" desc:"where a new group starts: earliest or latest"`
	SessionTimeout    time.Duration `mapstructure:"session_timeout" desc:"group session timeout"`
	RebalanceTimeout  time.Duration `mapstructure:"rebalance_timeout" desc:"group rebalance timeout"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval" desc:"group heartbeat interval"`
	CommitInterval    time.Duration `mapstructure:"commit_interval" desc:"how often acknowledged offsets are committed (async handlers)"`
	ShutdownGrace     time.Duration `mapstructure:"shutdown_grace" desc:"time allowed after stop to finish in-flight work and commit"`
}

// DefaultConsumerConfig returns defaults for group consuming topics.
func DefaultConsumerConfig(group string, topics ...string) ConsumerConfig {
	return ConsumerConfig{
		GroupID:           group,
		Topics:            topics,
		BatchSize:         2000,
		Linger:            5 * time.Millisecond,
		MaxInFlight:       10000,
		StartOffset:       "earliest",
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		HeartbeatInterval: 1 * time.Second,
		CommitInterval:    500 * time.Millisecond,
		ShutdownGrace:     8 * time.Second,
	}
}

// Validate names the key of the first bad setting (relative to the consumer's own keys).
func (c ConsumerConfig) Validate() error {
	switch {
	case c.GroupID == "":
		return errors.New("group_id: required")
	case len(c.Topics) == 0:
		return errors.New("topics: at least one topic is required")
	case c.BatchSize < 1:
		return fmt.Errorf("batch_size: must be ≥ 1, got %d", c.BatchSize)
	case c.Linger < 0:
		return fmt.Errorf("linger: must be ≥ 0, got %s", c.Linger)
	case c.MaxInFlight < 1:
		return fmt.Errorf("max_in_flight: must be ≥ 1, got %d", c.MaxInFlight)
	case c.StartOffset != "earliest" && c.StartOffset != "latest":
		return fmt.Errorf("start_offset: %q is not earliest or latest", c.StartOffset)
	case c.HeartbeatInterval <= 0 || c.SessionTimeout < 3*c.HeartbeatInterval:
		return fmt.Errorf("session_timeout: must be at least 3 × heartbeat_interval (%s), got %s", c.HeartbeatInterval, c.SessionTimeout)
	case c.RebalanceTimeout <= 0:
		return fmt.Errorf("rebalance_timeout: must be > 0, got %s", c.RebalanceTimeout)
	case c.CommitInterval <= 0:
		return fmt.Errorf("commit_interval: must be > 0, got %s", c.CommitInterval)
	case c.ShutdownGrace <= 0:
		return fmt.Errorf("shutdown_grace: must be > 0, got %s", c.ShutdownGrace)
	}
	return nil
}

// BatchHandler handles a batch of fetched messages in fetch order and returns the messages
// to write before the batch counts as done (verdicts, alerts, dead letters). An error stops
// the consumer without committing the batch: it is redelivered, to this or another member.
// Poison input is not an error: return DeadLetter(m, service, reason) among the outputs.
type BatchHandler func(ctx context.Context, batch []Message) (outputs []Message, err error)

// AsyncHandler takes one message and must call ack once it is done with it, now or later,
// from any goroutine. An error stops the consumer.
type AsyncHandler func(ctx context.Context, m Message, ack Ack) error

// Ack writes outputs (acks=all) and then marks its message done, so its offset can be
// committed once every earlier message of its partition is done too. It returns an error
// when the outputs could not be written before ctx ended or the consumer stopped; the
// message then stays unacknowledged and is redelivered after a restart. Calling it again
// after it succeeded does nothing.
type Ack func(ctx context.Context, outputs ...Message) error

// ErrStopped is returned by an Ack called after its consumer stopped.
var ErrStopped = errors.New("kafka consumer stopped")

// Consumer is one member of a consumer group. Use Run or RunAsync once; both close the
// consumer when they return.
type Consumer struct {
	cfg     ConsumerConfig
	reader  *kafka.Reader
	writer  *Writer
	log     *zap.Logger
	metrics *Metrics

	closeOnce sync.Once
	closeErr  error
}

// NewConsumer joins group cc.GroupID on Run. w writes the handler's outputs; it may be nil
// when a handler never returns outputs.
func NewConsumer(cfg Config, cc ConsumerConfig, w *Writer, log *zap.Logger, m *Metrics) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	d, err := cfg.dialer()
	if err != nil {
		return nil, err
	}
	start := kafka.FirstOffset
	if cc.StartOffset == "latest" {
		start = kafka.LastOffset
	}
	queue := cc.BatchSize * 2
	if queue < 100 {
		queue = 100
	}
	sugar := log.Sugar()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:               cfg.brokers(),
		GroupID:               cc.GroupID,
		GroupTopics:           cc.Topics,
		Dialer:                d,
		QueueCapacity:         queue,
		MinBytes:              1,
		MaxBytes:              10 << 20,
		MaxWait:               250 * time.Millisecond,
		ReadBatchTimeout:      10 * time.Second,
		ReadLagInterval:       -1,
		HeartbeatInterval:     cc.HeartbeatInterval,
		SessionTimeout:        cc.SessionTimeout,
		RebalanceTimeout:      cc.RebalanceTimeout,
		JoinGroupBackoff:      500 * time.Millisecond,
		CommitInterval:        0, // synchronous commits, errors seen (KAFKA-NOTES)
		StartOffset:           start,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        1 * time.Second,
		WatchPartitionChanges: true,
		MaxAttempts:           3,
		Logger: kafka.LoggerFunc(func(msg string, args ...interface{}) {
			sugar.Debugf("kafka: "+msg, args...)
		}),
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...interface{}) {
			sugar.Warnf("kafka: "+msg, args...)
		}),
	})
	return &Consumer{cfg: cc, reader: r, writer: w, log: log, metrics: m}, nil
}

// Close leaves the group. Run and RunAsync call it on return.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		if err := c.reader.Close(); err != nil {
			c.closeErr = fmt.Errorf("close kafka consumer %s: %w", c.cfg.GroupID, err)
		}
	})
	return c.closeErr
}

// Run fetches batches and hands them to h until ctx is cancelled. For each batch: h, then
// h's outputs written with acks=all, then the batch committed. Fetching the next batch,
// handling one, writing the outputs of earlier ones and committing those written overlap
// (one batch fetched ahead, up to writeAhead handled batches waiting for the writer, which
// writes them together; commits stay in order and merge when the brokers are slow): the
// round trips to the brokers do not stall the handler. On cancel it handles the batches in
// hand (within ShutdownGrace), commits them, leaves the group and returns nil. A handler
// error, or outputs that cannot be written, stop it: what was not committed is redelivered.
func (c *Consumer) Run(ctx context.Context, h BatchHandler) error {
	return RunPrepared(ctx, c, func([]Message) struct{} { return struct{}{} },
		func(ctx context.Context, batch []Message, _ struct{}) ([]Message, error) { return h(ctx, batch) })
}

// RunPrepared is Run with a stage before the handler: prepare is called with each fetched
// batch on the fetching goroutine, in fetch order, while the previous batch is being
// handled, and h gets the batch with what prepare made of it. Work that needs no state of
// the handler's (decoding records, say) then runs beside the handler, on another core.
// prepare must not share unguarded state with h; a batch it prepared may be dropped
// unhandled when the consumer stops on an error (it is not committed: redelivered).
func RunPrepared[P any](ctx context.Context, c *Consumer, prepare func([]Message) P, h func(context.Context, []Message, P) ([]Message, error)) error {
	defer c.Close()
	toWrite := make(chan written, writeAhead)
	wdone := make(chan error, 1)
	go c.writeLoop(ctx, toWrite, wdone) // owned by RunPrepared: toWrite is closed and wdone awaited before it returns

	type fetched struct {
		batch []Message
		prep  P
		err   error
	}
	next := make(chan fetched) // unbuffered: one batch is fetched and prepared ahead
	quit := make(chan struct{})
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	go func() { // owned by RunPrepared: stopped by quit and fcancel, awaited (next closed) before it returns
		defer close(next)
		for {
			var f fetched
			f.batch, f.err = c.fetchBatch(fctx)
			if len(f.batch) > 0 {
				f.prep = prepare(f.batch)
			}
			select {
			case next <- f: // not abandoned on cancel: the batches in hand are still handled
			case <-quit:
				return
			}
			if f.err != nil {
				return
			}
		}
	}()

	stopFetching := func() {
		fcancel()
		close(quit)
		for range next { // until the fetcher left
		}
	}
	stop := func(err error) error {
		stopFetching()
		close(toWrite)
		if werr := <-wdone; werr != nil && err == nil {
			err = werr
		}
		return err
	}
	for f := range next {
		if len(f.batch) > 0 {
			batch := f.batch
			hctx, cancel := obs.GraceContext(ctx, c.cfg.ShutdownGrace)
			start := time.Now()
			outs, err := h(hctx, batch, f.prep)
			c.metrics.handled(time.Since(start))
			cancel()
			if err != nil {
				return stop(fmt.Errorf("handle %d messages from %s (first %s): %w", len(batch), batch[0].Topic, batch[0], err))
			}
			select {
			case toWrite <- written{batch, outs}:
			case err := <-wdone:
				stopFetching()
				close(toWrite)
				<-wdone // closed once the writer left
				return err
			}
		}
		if f.err != nil {
			if ctx.Err() != nil {
				return stop(nil)
			}
			return stop(fmt.Errorf("fetch from %v: %w", c.cfg.Topics, f.err))
		}
	}
	return stop(nil) // not reached: the fetcher ends with an error
}

// writeAhead is how many handled batches may wait for the writer: when the brokers'
// round trips are slower than the handler, the waiting batches are written together and
// committed once.
const writeAhead = 2

type written struct{ batch, outs []Message }

// writeLoop writes the outputs of the handled batches in order, taking together those
// that wait (one Write call), and hands their offsets to a committer goroutine, so that
// writing batch n+1 overlaps committing batch n. Offsets waiting to be committed merge
// (the highest per partition: a commit means "everything below is done"), so a slow
// commit is followed by one commit covering the batches written meanwhile. A batch's
// offsets reach the committer only after its outputs, and those of every batch before
// it, were written. After a write failure (sent on wdone) nothing more is written or
// committed. When toWrite is closed it waits for the last commit, then closes wdone.
func (c *Consumer) writeLoop(ctx context.Context, toWrite <-chan written, wdone chan<- error) {
	var (
		mu      sync.Mutex
		pending = map[topicPartition]int64{} // offsets written, not yet committed
	)
	kick := make(chan struct{}, 1)
	committed := make(chan struct{})
	go func() { // owned by writeLoop: ends when kick is closed, awaited before wdone is closed
		defer close(committed)
		for range kick {
			mu.Lock()
			last := make([]kafka.Message, 0, len(pending))
			for k, off := range pending {
				last = append(last, kafka.Message{Topic: k.topic, Partition: k.partition, Offset: off})
			}
			clear(pending)
			mu.Unlock()
			cctx, cancel := obs.GraceContext(ctx, c.cfg.ShutdownGrace)
			c.commit(cctx, last)
			cancel()
		}
	}()
	defer func() {
		close(kick)
		<-committed
		close(wdone)
	}()
	var err error
	for w := range toWrite {
		ws := []written{w}
	more:
		for len(ws) <= writeAhead {
			select {
			case w, ok := <-toWrite:
				if !ok {
					break more
				}
				ws = append(ws, w)
			default:
				break more
			}
		}
		if err != nil {
			continue // stopping: nothing more is written or committed
		}
		outs := ws[0].outs
		if len(ws) > 1 {
			outs = nil
			for _, w := range ws {
				outs = append(outs, w.outs...)
			}
		}
		wctx, cancel := obs.GraceContext(ctx, c.cfg.ShutdownGrace)
		err = c.writeOutputs(wctx, outs)
		cancel()
		if err != nil {
			wdone <- err
			continue
		}
		mu.Lock()
		for _, w := range ws {
			for _, m := range w.batch {
				k := topicPartition{m.Topic, m.Partition}
				if off, ok := pending[k]; !ok || m.Offset > off {
					pending[k] = m.Offset
				}
			}
		}
		mu.Unlock()
		select {
		case kick <- struct{}{}:
		default: // a kick is waiting: that commit takes these offsets too
		}
	}
}

// fetch returns the next message. Errors from a broker that is down or moving partitions
// are transient: kafka-go keeps reconnecting and reports each failure, so fetch logs it,
// backs off and asks again until ctx ends. Only a closed reader (io.EOF) or a cancelled
// ctx end it. Nothing is skipped: the reader resumes from its own position.
func (c *Consumer) fetch(ctx context.Context) (kafka.Message, error) {
	var km kafka.Message
	policy := retry.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			c.metrics.fetchFailed()
			c.log.Warn("fetch failed; retrying", zap.Strings("topics", c.cfg.Topics), zap.Int("attempt", attempt),
				zap.Duration("backoff", wait), zap.Error(err))
		}}
	err := retry.Do(ctx, policy, func(ctx context.Context, _ int) error {
		var err error
		if km, err = c.reader.FetchMessage(ctx); errors.Is(err, io.EOF) {
			return retry.Permanent(err)
		}
		return err
	})
	return km, err
}

func (c *Consumer) fetchBatch(ctx context.Context) ([]Message, error) {
	km, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	batch := make([]Message, 0, c.cfg.BatchSize)
	batch = append(batch, fromKafka(km))
	if c.cfg.BatchSize > 1 {
		lctx, cancel := context.WithTimeout(ctx, c.cfg.Linger)
		for len(batch) < c.cfg.BatchSize {
			km, err := c.reader.FetchMessage(lctx)
			if err != nil {
				break // linger over, or stopping: the next fetch reports real errors
			}
			batch = append(batch, fromKafka(km))
		}
		cancel()
	}
	c.metrics.fetchedBatch(batch)
	return batch, nil
}

// writeOutputs retries until the outputs are written or ctx ends: a broker restart delays
// the pipeline, it does not lose or skip anything. A retry sends only the outputs that
// failed (those acknowledged are never sent twice). An output too large for its topic is
// not retried: it is replaced by its dead letter on <topic>.dlq (service: the group id,
// no coordinates), trimmed to fit, and the batch goes on.
func (c *Consumer) writeOutputs(ctx context.Context, outs []Message) error {
	if len(outs) == 0 {
		return nil
	}
	if c.writer == nil {
		return fmt.Errorf("handler returned %d outputs but the consumer has no writer", len(outs))
	}
	pending := outs
	policy := retry.Policy{Initial: 100 * time.Millisecond, Max: 5 * time.Second,
		OnRetry: func(attempt int, err error, wait time.Duration) {
			c.log.Warn("writing outputs failed; retrying those not written", zap.Int("attempt", attempt), zap.Int("messages", len(pending)),
				zap.Duration("backoff", wait), zap.Error(err))
		}}
	err := retry.Do(ctx, policy, func(ctx context.Context, _ int) error {
		for {
			err := c.writer.Write(ctx, pending...)
			if err == nil || retry.IsPermanent(err) {
				return err
			}
			again, rejected := Unwritten(pending, err)
			for _, r := range rejected {
				if isDeadLetter(r.Message) {
					// Only a topic limit of a few hundred bytes refuses a trimmed dead letter.
					c.metrics.droppedDeadLetter()
					c.log.Error("dead letter does not fit its topic even trimmed; dropped", zap.String("topic", r.Message.Topic), zap.Error(r.Err))
					continue
				}
				c.log.Warn("output too large for its topic; dead-lettered", zap.String("topic", r.Message.Topic), zap.Error(r.Err))
				again = append(again, unwrittenDeadLetter(r.Message, c.cfg.GroupID, r.Err))
			}
			pending = again
			switch {
			case len(pending) == 0:
				return nil
			case len(rejected) == 0:
				return err
			}
			// Some outputs became dead letters: write them (and the rest) now, no back-off.
		}
	})
	if err != nil {
		return fmt.Errorf("write %d of %d outputs: %w", len(pending), len(outs), err)
	}
	return nil
}

// commit commits "everything up to and including these offsets". A failed commit is
// logged, not fatal: the messages are redelivered later (duplicates, never loss) and the
// next successful commit covers them.
func (c *Consumer) commit(ctx context.Context, last []kafka.Message) {
	if len(last) == 0 {
		return
	}
	err := retry.Do(ctx, retry.Policy{Initial: 200 * time.Millisecond, Max: time.Second, MaxAttempts: 3}, func(ctx context.Context, _ int) error {
		return c.reader.CommitMessages(ctx, last...)
	})
	c.metrics.committed(err)
	if err != nil {
		c.log.Warn("commit failed; the messages will be redelivered", zap.String("group", c.cfg.GroupID), zap.Error(err))
	}
}

// RunAsync fetches messages one at a time and hands each to h with an Ack. At most
// MaxInFlight messages are unacknowledged at once. Acknowledged offsets are committed every
// CommitInterval, per partition only below the lowest message still in flight. On cancel it
// stops fetching, waits up to ShutdownGrace for in-flight messages, commits what is done,
// leaves the group and returns nil; unacknowledged messages are redelivered later.
func (c *Consumer) RunAsync(ctx context.Context, h AsyncHandler) error {
	tr := newTracker()
	sem := make(chan struct{}, c.cfg.MaxInFlight)
	var stopped atomic.Bool
	kick := make(chan struct{}, 1)
	ackWake := make(chan struct{}, 1) // wakes the shutdown wait when an ack lands

	commitDone := make(chan struct{})
	commitStop := make(chan struct{})
	go func() { // owned by RunAsync: stopped and awaited below
		defer close(commitDone)
		t := time.NewTicker(c.cfg.CommitInterval)
		defer t.Stop()
		for {
			select {
			case <-commitStop:
				return
			case <-t.C:
			case <-kick:
			}
			c.commitTracked(context.WithoutCancel(ctx), tr)
		}
	}()

	var runErr error
	for {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		km, err := c.fetch(ctx)
		if err != nil {
			<-sem
			if ctx.Err() == nil {
				runErr = fmt.Errorf("fetch from %v: %w", c.cfg.Topics, err)
			}
			break
		}
		m := fromKafka(km)
		c.metrics.fetched(m)
		tr.add(m)
		c.metrics.setInFlight(tr.inFlight())
		var acked atomic.Bool
		ack := func(actx context.Context, outputs ...Message) error {
			if acked.Load() {
				return nil
			}
			if stopped.Load() {
				return ErrStopped
			}
			if err := c.writeOutputs(actx, outputs); err != nil {
				return err
			}
			if !acked.CompareAndSwap(false, true) {
				return nil
			}
			tr.done(m)
			c.metrics.setInFlight(tr.inFlight())
			<-sem
			select {
			case ackWake <- struct{}{}:
			default: // a wake-up is pending already
			}
			return nil
		}
		if err := h(ctx, m, ack); err != nil {
			runErr = fmt.Errorf("handle %s: %w", m, err)
			break
		}
	}

	// Finish: wait for in-flight acks within the grace period, commit, leave.
	if runErr == nil && tr.inFlight() > 0 {
		grace := time.NewTimer(c.cfg.ShutdownGrace)
	wait:
		for tr.inFlight() > 0 {
			select {
			case <-grace.C:
				break wait
			case <-ackWake:
			}
		}
		grace.Stop()
	}
	if n := tr.inFlight(); n > 0 {
		c.log.Info("stopping with unacknowledged messages; they will be redelivered", zap.Int("in_flight", n))
	}
	stopped.Store(true)
	close(commitStop)
	<-commitDone
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	c.commitTracked(fctx, tr)
	cancel()
	if err := c.Close(); err != nil && runErr == nil {
		c.log.Warn("leaving the group", zap.Error(err))
	}
	return runErr
}

func (c *Consumer) commitTracked(ctx context.Context, tr *tracker) {
	msgs := tr.committable()
	if len(msgs) == 0 {
		return
	}
	if err := c.reader.CommitMessages(ctx, msgs...); err != nil {
		c.metrics.committed(err)
		c.log.Warn("commit failed; will retry", zap.String("group", c.cfg.GroupID), zap.Error(err))
		return
	}
	c.metrics.committed(nil)
	tr.committed(msgs)
}

// MemberConfig is the part of ConsumerConfig that every consuming service exposes under
// its "consumer" key (CONSUMER_SESSION_TIMEOUT, …); a service embeds it with
// `mapstructure:",squash"` beside its own consumer keys and applies it with Apply.
type MemberConfig struct {
	SessionTimeout    time.Duration `mapstructure:"session_timeout" desc:"group session timeout"`
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval" desc:"group heartbeat interval"`
	StartOffset       string        `mapstructure:"start_offset" desc:"where a new group starts: earliest or latest"`
	ShutdownGrace     time.Duration `mapstructure:"shutdown_grace" desc:"time allowed after SIGTERM to finish in-flight work and commit"`
}

// Member returns c's member settings.
func (c ConsumerConfig) Member() MemberConfig {
	return MemberConfig{SessionTimeout: c.SessionTimeout, HeartbeatInterval: c.HeartbeatInterval,
		StartOffset: c.StartOffset, ShutdownGrace: c.ShutdownGrace}
}

// Apply returns c with m's settings.
func (m MemberConfig) Apply(c ConsumerConfig) ConsumerConfig {
	c.SessionTimeout, c.HeartbeatInterval = m.SessionTimeout, m.HeartbeatInterval
	c.StartOffset, c.ShutdownGrace = m.StartOffset, m.ShutdownGrace
	return c
}
