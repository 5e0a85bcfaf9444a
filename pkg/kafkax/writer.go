package kafkax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/logwarden/logwarden/pkg/retry"
)

// WriterConfig tunes the producer. Every Write is synchronous and already a batch, so by
// default its messages are sent at once (linger 0: one produce request per partition per
// Write, never kafka-go's 1 s BatchTimeout); a linger lets concurrent Writes share
// produce requests at the cost of that much latency.
type WriterConfig struct {
	BatchSize    int           `mapstructure:"batch_size" desc:"max messages per produce request per partition"`
	Linger       time.Duration `mapstructure:"linger" desc:"how long a partial batch waits for more messages from concurrent writes (0: sent at once)"`
	BatchBytes   int64         `mapstructure:"batch_bytes" desc:"max bytes per produce request per partition; capped below each topic's max.message.bytes"`
	WriteTimeout time.Duration `mapstructure:"write_timeout" desc:"timeout of one produce request"`
	MaxAttempts  int           `mapstructure:"max_attempts" desc:"attempts per write before it fails"`
	Compression  string        `mapstructure:"compression" desc:"none, gzip, snappy, lz4 or zstd"`
}

// DefaultWriterConfig returns the defaults.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{
		BatchSize:    1000,
		Linger:       0,
		BatchBytes:   4 << 20,
		WriteTimeout: 10 * time.Second,
		MaxAttempts:  5,
		Compression:  "lz4",
	}
}

// Validate names the key of the first bad setting (relative to the writer's own keys).
func (c WriterConfig) Validate() error {
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("batch_size: must be ≥ 1, got %d", c.BatchSize)
	case c.Linger < 0:
		return fmt.Errorf("linger: must be ≥ 0, got %s", c.Linger)
	case c.BatchBytes < 1024:
		return fmt.Errorf("batch_bytes: must be ≥ 1024, got %d", c.BatchBytes)
	case c.WriteTimeout <= 0:
		return fmt.Errorf("write_timeout: must be > 0, got %s", c.WriteTimeout)
	case c.MaxAttempts < 1:
		return fmt.Errorf("max_attempts: must be ≥ 1, got %d", c.MaxAttempts)
	}
	if _, err := compression(c.Compression); err != nil {
		return err
	}
	return nil
}

func compression(name string) (kafka.Compression, error) {
	switch name {
	case "", "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("compression: %q is not one of none, gzip, snappy, lz4, zstd", name)
}

// ErrMessageTooLarge matches (errors.Is) the error of a message that is larger than its
// topic accepts on its own: writing it again cannot succeed. Dead-letter it instead.
var ErrMessageTooLarge = errors.New("message too large for its topic")

// MessageTooLargeError is the error of one message the writer did not send, or the broker
// refused alone, because it exceeds its topic's limit.
type MessageTooLargeError struct {
	Topic string
	// Size is the record's size as the writer counts it (key, value, headers, framing).
	Size int64
	// Max is the largest record the writer sends to Topic: Limit less room for the
	// record batch around it, or batch_bytes when that is lower.
	Max int64
	// Limit is Topic's max.message.bytes.
	Limit int
	// Broker is the broker's answer when it refused the message alone (nil: not sent).
	Broker error
}

func (e *MessageTooLargeError) Error() string {
	if e.Broker != nil {
		return fmt.Sprintf("message of %d bytes refused by %s (max.message.bytes %d): %v", e.Size, e.Topic, e.Limit, e.Broker)
	}
	return fmt.Sprintf("message of %d bytes is larger than %s accepts (max.message.bytes %d, at most %d per record)", e.Size, e.Topic, e.Limit, e.Max)
}

// Is makes errors.Is(err, ErrMessageTooLarge) true.
func (e *MessageTooLargeError) Is(target error) bool { return target == ErrMessageTooLarge }

// Unwrap returns the broker's answer, if any.
func (e *MessageTooLargeError) Unwrap() error { return e.Broker }

// WriteError is returned by a Write that did not write every message. Errs[i] is the
// error of the Write's i-th message, nil when that message was written: a retry must send
// only the failed ones (re-sending the others duplicates them). A message whose error
// matches ErrMessageTooLarge fails again on every retry.
type WriteError struct {
	Errs   []error
	topics string
}

func (e *WriteError) Error() string {
	var failed, tooLarge int
	var first error
	for _, err := range e.Errs {
		if err == nil {
			continue
		}
		failed++
		if errors.Is(err, ErrMessageTooLarge) {
			tooLarge++
		}
		if first == nil {
			first = err
		}
	}
	s := fmt.Sprintf("write %d messages to %s: %d not written", len(e.Errs), e.topics, failed)
	if tooLarge > 0 {
		s += fmt.Sprintf(" (%d too large)", tooLarge)
	}
	return s + fmt.Sprintf(", first: %v", first)
}

// Unwrap returns the failed messages' errors (for errors.Is / errors.As).
func (e *WriteError) Unwrap() []error {
	out := make([]error, 0, 4)
	for _, err := range e.Errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Rejected is a message a Write refused for good, with the reason.
type Rejected struct {
	Message Message
	Err     error
}

// Unwritten sorts msgs, the messages of a Write that returned err, into those worth
// writing again (all of them unless err is a *WriteError: then only the failed ones) and
// those rejected for good (too large for their topic).
func Unwritten(msgs []Message, err error) (again []Message, rejected []Rejected) {
	if err == nil {
		return nil, nil
	}
	var we *WriteError
	if !errors.As(err, &we) || len(we.Errs) != len(msgs) {
		return msgs, nil
	}
	for i, e := range we.Errs {
		switch {
		case e == nil:
		case errors.Is(e, ErrMessageTooLarge):
			rejected = append(rejected, Rejected{Message: msgs[i], Err: e})
		default:
			again = append(again, msgs[i])
		}
	}
	return again, rejected
}

// Writer writes messages synchronously with acks=all: Write returns nil only once every
// message is on all in-sync replicas. Messages name their own topic. Each topic is
// written with batches sized below the topic's max.message.bytes, read from the brokers
// the first time the writer writes to it. Safe for concurrent use.
type Writer struct {
	admin   *Admin // owns the transport every topic writer shares
	parts   *partitionCache
	wc      WriterConfig
	comp    kafka.Compression
	metrics *Metrics
	prod    *producer // writes without linger
	sends   sync.Pool // *[]kafka.Message: a Write's messages in kafka-go's type

	mu      sync.Mutex
	topics  map[string]*topicWriter
	retired []*topicWriter // replaced after the topic's limit changed; closed by Close
	closed  bool
}

// topicWriter writes one topic.
type topicWriter struct {
	topic string
	w     *kafka.Writer // with a linger only; else the Writer's producer writes
	limit int           // the topic's max.message.bytes
	max   int64         // BatchBytes: the largest batch, and so the largest record, sent
	// stale is set when the broker refused a batch as too large although it was sized
	// below limit: the topic's limit was lowered, so it is read again before the next write.
	stale atomic.Bool
}

// NewWriter builds a writer; it connects lazily on the first Write.
func NewWriter(cfg Config, wc WriterConfig, m *Metrics) (*Writer, error) {
	if err := wc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka writer: %w", err)
	}
	admin, err := NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	comp, _ := compression(wc.Compression)
	w := &Writer{admin: admin, parts: newPartitionCache(admin.tr, time.Second, nil), wc: wc, comp: comp, metrics: m,
		topics: make(map[string]*topicWriter)}
	w.prod = newProducer(w)
	return w, nil
}

// batchBytes is the largest batch sent to a topic whose max.message.bytes is limit. The
// brokers count the record batch (61 bytes of header, varint framing per record, after
// compression); kafka-go counts records by its own estimate, which can fall short of
// the real framing by a few bytes per record, and a batch of incompressible data can
// grow a little when compressed. The reserve covers both.
func (w *Writer) batchBytes(limit int) int64 {
	reserve := 128 + 8*w.wc.BatchSize
	if w.comp != 0 {
		reserve += limit / 64
	}
	reserve = min(reserve, limit/2)
	return min(w.wc.BatchBytes, int64(limit-reserve))
}

func (w *Writer) topicWriter(ctx context.Context, topic string) (*topicWriter, error) {
	w.mu.Lock()
	old, closed := w.topics[topic], w.closed
	w.mu.Unlock()
	if closed {
		return nil, io.ErrClosedPipe
	}
	if old != nil && !old.stale.Load() {
		return old, nil
	}
	limit, err := w.admin.MaxMessageBytes(ctx, topic)
	if err != nil {
		if old != nil {
			return old, nil // keep writing with what is known; read again next time
		}
		return nil, err
	}
	if old != nil && limit == old.limit {
		old.stale.Store(false)
		return old, nil
	}
	tw := w.newTopicWriter(topic, limit)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, io.ErrClosedPipe
	}
	if have := w.topics[topic]; have != old {
		return have, nil // another Write got there first; ours never wrote
	}
	if old != nil {
		w.retired = append(w.retired, old) // Writes in flight on it finish; Close closes it
	}
	w.topics[topic] = tw
	return tw, nil
}

func (w *Writer) newTopicWriter(topic string, limit int) *topicWriter {
	tw := &topicWriter{topic: topic, limit: limit, max: w.batchBytes(limit)}
	if w.wc.Linger <= 0 {
		return tw // each Write's messages are sent at once, by w.prod
	}
	// Concurrent Writes share kafka-go's batches.
	tw.w = &kafka.Writer{
		Addr: kafka.TCP(w.admin.cfg.brokers()...),
		// Murmur2, as the Java client, so other producers keying by entity agree with us.
		Balancer:               &kafka.Murmur2Balancer{},
		MaxAttempts:            w.wc.MaxAttempts,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        1 * time.Second,
		BatchSize:              w.wc.BatchSize,
		BatchBytes:             tw.max,
		BatchTimeout:           w.wc.Linger,
		ReadTimeout:            w.wc.WriteTimeout,
		WriteTimeout:           w.wc.WriteTimeout,
		RequiredAcks:           kafka.RequireAll,
		Async:                  false,
		Compression:            w.comp,
		Transport:              w.parts, // w.admin.tr, with the partition lookups cached
		AllowAutoTopicCreation: false,
	}
	return tw
}

// Write sends msgs and waits until the brokers acknowledged them. It returns nil when all
// were written, else a *WriteError saying which were not (retry only those: the others
// are written) and which can never be (too large: errors.Is(err, ErrMessageTooLarge)).
// A dead letter (DeadLetter's output) larger than its topic accepts is trimmed to fit
// instead. An error does not prove a failed message was not written (kafka-go issue
// #1427): callers that retry rely on ids. A message without topic is a programming error:
// nothing is written and the error is retry.Permanent.
func (w *Writer) Write(ctx context.Context, msgs ...Message) error {
	return w.Start(ctx, msgs...).Wait()
}

// Pending is a Write begun by Start.
type Pending struct {
	done chan struct{}
	err  error
}

// Wait waits until the write is done and returns what Write would have.
func (p *Pending) Wait() error {
	<-p.done
	return p.err
}

// Start begins a Write and returns while its messages are being sent; Wait returns its
// outcome. The messages of writes started one after the other keep that order in each
// partition, as if each write had waited for the one before, while the partitions the
// earlier one is done with take the later one's messages already (only when linger is 0;
// with a linger Start returns once the write is done). Every started write must be
// waited for.
func (w *Writer) Start(ctx context.Context, msgs ...Message) *Pending {
	pd := &Pending{done: make(chan struct{})}
	if len(msgs) == 0 {
		close(pd.done)
		return pd
	}
	groups := make([]topicGroup, 0, 2)
	for i, m := range msgs {
		if m.Topic == "" {
			pd.err = retry.Permanent(fmt.Errorf("write message %d: no topic", i))
			close(pd.done)
			return pd
		}
		j := 0
		for j < len(groups) && groups[j].topic != m.Topic {
			j++
		}
		if j == len(groups) {
			groups = append(groups, topicGroup{topic: m.Topic})
		}
		groups[j].idx = append(groups[j].idx, i)
	}
	errs := make([]error, len(msgs))
	tws := make([]*topicWrite, len(groups))
	for i, g := range groups {
		tws[i] = w.prepareTopic(ctx, msgs, g, errs)
	}
	finish := func() {
		defer close(pd.done)
		var wg sync.WaitGroup
		for _, t := range tws[1:] {
			wg.Add(1)
			go func() { // owned by this write: awaited below
				defer wg.Done()
				w.finishTopic(ctx, t, errs)
			}()
		}
		w.finishTopic(ctx, tws[0], errs)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				names := make([]string, len(groups))
				for i, g := range groups {
					names[i] = g.topic
				}
				pd.err = &WriteError{Errs: errs, topics: strings.Join(names, ",")}
				return
			}
		}
	}
	for _, t := range tws {
		if t.plan == nil && t.tw != nil && t.tw.w != nil {
			finish() // kafka.Writer keeps no order between concurrent writes
			return pd
		}
	}
	go finish() // owned by pd: Wait awaits it
	return pd
}

type topicGroup struct {
	topic string
	idx   []int // indexes into the Write's messages, in order
}

// topicWrite is one topic's part of a write: its messages in kafka-go's type, those too
// large taken out, and with linger 0 their partitions' turns taken.
type topicWrite struct {
	g        topicGroup
	tw       *topicWriter // nil: the topic could not be written (errs set)
	sendp    *[]kafka.Message
	send     []kafka.Message
	idx      []int // the Write's indexes of send
	tooLarge int
	plan     *plan
}

// prepareTopic makes the topicWrite of g; errors go to errs at the messages' indexes.
func (w *Writer) prepareTopic(ctx context.Context, msgs []Message, g topicGroup, errs []error) *topicWrite {
	t := &topicWrite{g: g}
	tw, err := w.topicWriter(ctx, g.topic)
	if err != nil {
		err = fmt.Errorf("%s: %w", g.topic, err)
		for _, i := range g.idx {
			errs[i] = err
		}
		return t
	}
	t.tw = tw
	t.sendp = w.sendBuf(len(g.idx))
	t.send, t.idx = *t.sendp, make([]int, 0, len(g.idx))
	for _, i := range g.idx {
		km := toKafka(msgs[i])
		if size := recordSize(km); size > tw.max {
			if fitted, ok := fitDeadLetter(msgs[i], tw.max); ok {
				km = toKafka(fitted)
				w.metrics.trimmedDeadLetter(g.topic)
			} else {
				errs[i] = &MessageTooLargeError{Topic: g.topic, Size: size, Max: tw.max, Limit: tw.limit}
				t.tooLarge++
				continue
			}
		}
		t.send = append(t.send, km)
		t.idx = append(t.idx, i)
	}
	if tw.w == nil && len(t.send) > 0 {
		t.plan = w.prod.plan(ctx, tw.topic, tw.max, t.send)
	}
	return t
}

// finishTopic sends t and sets errs at the indexes that failed.
func (w *Writer) finishTopic(ctx context.Context, t *topicWrite, errs []error) {
	if t.tw == nil {
		w.metrics.wrote(t.g.topic, 0, len(t.g.idx), 0, 0)
		return
	}
	defer func() {
		// Neither kafka-go nor the producer keeps the slice after sending.
		clear(t.send)
		*t.sendp = t.send[:0]
		w.sends.Put(t.sendp)
	}()
	start := time.Now()
	tooLarge := t.tooLarge + w.send(ctx, t.tw, t.send, t.idx, errs, t.plan)
	failed := 0
	for _, i := range t.g.idx {
		if errs[i] != nil {
			failed++
		}
	}
	w.metrics.wrote(t.g.topic, len(t.g.idx)-failed, failed, tooLarge, time.Since(start))
}

// sendBuf returns an empty slice for n kafka-go messages, used before.
func (w *Writer) sendBuf(n int) *[]kafka.Message {
	if b, ok := w.sends.Get().(*[]kafka.Message); ok && cap(*b) >= n {
		return b
	}
	b := make([]kafka.Message, 0, n)
	return &b
}

// send writes kms (the Write's messages idx) and sets errs for those that failed. A batch
// the broker finds too large is split in halves and written again, down to single
// messages: one refused alone is too large for good; the others are written. Messages
// the broker acknowledged are never sent again. It returns how many were too large. pl,
// when set, is the plan of kms (Start): the first attempt runs it.
func (w *Writer) send(ctx context.Context, tw *topicWriter, kms []kafka.Message, idx []int, errs []error, pl *plan) int {
	var err error
	switch {
	case pl != nil: // planned for kms: the first attempt, in its turn
		err = pl.run(ctx)
	case len(kms) == 0:
		return 0
	case tw.w != nil:
		err = tw.w.WriteMessages(ctx, kms...)
	default:
		err = w.prod.write(ctx, tw.topic, tw.max, kms)
	}
	if err == nil {
		return 0
	}
	var werrs kafka.WriteErrors
	if !errors.As(err, &werrs) || len(werrs) != len(kms) {
		// Nothing says which were written (a cancelled context, no metadata): all failed.
		err = fmt.Errorf("%s: %w", tw.topic, err)
		for _, i := range idx {
			errs[i] = err
		}
		return 0
	}
	var big []int // positions in kms the broker refused as too large
	for j, e := range werrs {
		switch {
		case e == nil:
		case isTooLargeAnswer(e):
			big = append(big, j)
		default:
			errs[idx[j]] = fmt.Errorf("%s: %w", tw.topic, e)
		}
	}
	if len(big) == 0 {
		return 0
	}
	tw.stale.Store(true)
	if len(big) == 1 {
		// A batch fails or succeeds whole, so a message refused while the rest of this
		// write was accepted had a batch of its own (concurrent Writes' messages may have
		// shared it; they are refused and split the same way).
		j := big[0]
		errs[idx[j]] = &MessageTooLargeError{Topic: tw.topic, Size: recordSize(kms[j]), Max: tw.max, Limit: tw.limit, Broker: werrs[j]}
		return 1
	}
	bk, bi := make([]kafka.Message, len(big)), make([]int, len(big))
	for n, j := range big {
		bk[n], bi[n] = kms[j], idx[j]
	}
	half := len(big) / 2
	return w.send(ctx, tw, bk[:half], bi[:half], errs, nil) + w.send(ctx, tw, bk[half:], bi[half:], errs, nil)
}

func isTooLargeAnswer(err error) bool {
	return errors.Is(err, kafka.MessageSizeTooLarge) || errors.Is(err, kafka.RecordListTooLarge)
}

// recordSize is kafka-go's size of a message (its BatchBytes accounting), so that a
// message the writer sends is never one kafka-go refuses before sending.
func recordSize(m kafka.Message) int64 {
	n := int64(4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8)
	n += int64(varintSize(int64(len(m.Headers))))
	for _, h := range m.Headers {
		n += int64(varintSize(int64(len(h.Key))) + len(h.Key) + varintSize(int64(len(h.Value))) + len(h.Value))
	}
	return n
}

// Close flushes and closes the connections.
func (w *Writer) Close() error {
	w.mu.Lock()
	w.closed = true
	tws := w.retired
	for _, tw := range w.topics {
		tws = append(tws, tw)
	}
	w.topics, w.retired = nil, nil
	w.mu.Unlock()
	var errs []error
	for _, tw := range tws {
		if tw.w == nil {
			continue
		}
		if err := tw.w.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("close kafka writer of %s: %w", tw.topic, err))
		}
	}
	_ = w.admin.Close()
	return errors.Join(errs...)
}
