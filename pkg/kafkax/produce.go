package kafkax

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/pierrec/lz4/v4"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	meta "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/logwarden/logwarden/pkg/retry"
)

// producer writes a Write's messages as record batches it encodes itself, one produce
// request per partition batch (kafka-go's RawProduce), the partitions in parallel. It does
// what kafka.Writer does for a Write that is sent at once (no linger), at about half of
// its CPU: kafka.Writer copies every message into per-partition batches, looks the topic
// up for every message, and encodes each record field by field through io.Readers into
// the compressor.
type producer struct {
	client   *kafka.Client
	parts    *partitionCache
	balancer kafka.Murmur2Balancer
	comp     kafka.Compression
	wc       WriterConfig
	bufs     sync.Pool // *[]byte: record and request buffers
	lz4s     sync.Pool // *lz4.Writer

	mu    sync.Mutex
	turns map[topicPartition]chan struct{} // closed when the last plan on the partition is done with it
}

func newProducer(w *Writer) *producer {
	return &producer{
		client: &kafka.Client{Addr: kafka.TCP(w.admin.cfg.brokers()...), Transport: w.parts, Timeout: w.wc.WriteTimeout},
		parts:  w.parts,
		comp:   w.comp,
		wc:     w.wc,
		turns:  make(map[topicPartition]chan struct{}),
	}
}

// write sends kms to topic and returns what kafka.Writer.WriteMessages returns: nil,
// kafka.WriteErrors (one entry per message, nil for those written), or an error that says
// nothing about which were written. maxBytes caps a request's records (BatchBytes).
func (p *producer) write(ctx context.Context, topic string, maxBytes int64, kms []kafka.Message) error {
	return p.plan(ctx, topic, maxBytes, kms).run(ctx)
}

// plan is a write whose messages have their partitions and their turn in each partition:
// after the plans made before it, before those made after it. Every plan must be run.
type plan struct {
	p        *producer
	topic    string
	maxBytes int64
	kms      []kafka.Message
	err      error           // no partitions known: nothing is sent
	parts    [][]int         // the messages (indexes into kms) of each partition, in order
	after    []chan struct{} // per partition: closed when the plan before this one is done with it (nil: none)
	done     []chan struct{} // per partition: closed when this plan is done with it
}

// plan assigns kms to partitions and takes their turns (see plan); the messages are sent
// by run.
func (p *producer) plan(ctx context.Context, topic string, maxBytes int64, kms []kafka.Message) *plan {
	pl := &plan{p: p, topic: topic, maxBytes: maxBytes, kms: kms}
	n, err := p.partitionCount(ctx, topic)
	if err != nil {
		pl.err = err
		return pl
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	pl.parts = make([][]int, n)
	for i := range kms {
		part := p.balancer.Balance(kms[i], ids...)
		pl.parts[part] = append(pl.parts[part], i)
	}
	pl.after, pl.done = make([]chan struct{}, n), make([]chan struct{}, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for part, idx := range pl.parts {
		if len(idx) == 0 {
			continue
		}
		key := topicPartition{topic, part}
		pl.after[part], pl.done[part] = p.turns[key], make(chan struct{})
		p.turns[key] = pl.done[part]
	}
	return pl
}

// run sends the plan's messages, each partition's in its turn, and returns what write does.
func (pl *plan) run(ctx context.Context) error {
	if pl.err != nil {
		return pl.err
	}
	p, kms := pl.p, pl.kms
	errs := make(kafka.WriteErrors, len(kms))
	var wg sync.WaitGroup
	for part, idx := range pl.parts {
		if len(idx) == 0 {
			continue
		}
		wg.Add(1)
		go func() { // owned by this run: awaited below
			defer wg.Done()
			defer close(pl.done[part])
			if after := pl.after[part]; after != nil {
				select {
				case <-after:
				case <-ctx.Done(): // the sends below fail at once
				}
			}
			// A partition's batches go in order, one request at a time, as kafka.Writer's.
			for len(idx) > 0 {
				b := batchOf(kms, idx, p.wc.BatchSize, pl.maxBytes)
				if err := p.produce(ctx, pl.topic, part, kms, idx[:b]); err != nil {
					for _, i := range idx[:b] {
						errs[i] = err
					}
				}
				idx = idx[b:]
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return errs
		}
	}
	return nil
}

// batchOf is how many of the messages idx go into the next batch: kafka.Writer's rule (at
// most size messages; a message that would take the batch past maxBytes starts the next
// one, unless it is the first).
func batchOf(kms []kafka.Message, idx []int, size int, maxBytes int64) int {
	var bytes int64
	for n, i := range idx {
		if n == size {
			return n
		}
		s := recordSize(kms[i])
		if n > 0 && bytes+s > maxBytes {
			return n
		}
		bytes += s
		if bytes >= maxBytes {
			return n + 1
		}
	}
	return len(idx)
}

// partitionCount is the topic's partition count, from the metadata the partition cache
// keeps (the lookup kafka.Writer makes).
func (p *producer) partitionCount(ctx context.Context, topic string) (int, error) {
	r, err := p.parts.RoundTrip(ctx, p.client.Addr, &meta.Request{TopicNames: []string{topic}})
	if err != nil {
		return 0, err
	}
	for _, t := range r.(*meta.Response).Topics {
		if t.Name == topic {
			if t.ErrorCode != 0 {
				return 0, kafka.Error(t.ErrorCode)
			}
			if len(t.Partitions) == 0 {
				return 0, kafka.UnknownTopicOrPartition
			}
			return len(t.Partitions), nil
		}
	}
	return 0, kafka.UnknownTopicOrPartition
}

// produce writes the messages idx to one partition with acks=all, again after a temporary
// failure (MaxAttempts in all, backing off from 50 ms to 1 s, as kafka.Writer).
func (p *producer) produce(ctx context.Context, topic string, partition int, kms []kafka.Message, idx []int) error {
	req := p.getBuf()
	var err error
	*req, err = p.appendRecordBatch((*req)[:0], kms, idx, time.Now())
	if err != nil {
		p.bufs.Put(req)
		return err
	}
	policy := retry.Policy{Initial: 50 * time.Millisecond, Max: time.Second, MaxAttempts: p.wc.MaxAttempts}
	err = retry.Do(ctx, policy, func(ctx context.Context, _ int) error {
		rctx, cancel := context.WithTimeout(ctx, p.wc.WriteTimeout)
		defer cancel()
		res, err := p.client.RawProduce(rctx, &kafka.RawProduceRequest{
			Topic:        topic,
			Partition:    partition,
			RequiredAcks: kafka.RequireAll,
			RawRecords:   protocol.RawRecordSet{Reader: bytes.NewReader(*req)},
		})
		if err == nil {
			err = res.Error
		}
		if err != nil && !isTemporary(err) {
			return retry.Permanent(err)
		}
		return err
	})
	if err == nil {
		// A request that failed may still be read by its connection: only a buffer
		// whose request was answered is used again.
		p.bufs.Put(req)
	}
	return err
}

// isTemporary is kafka.Writer's test for an error worth another attempt.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *producer) getBuf() *[]byte {
	if b, ok := p.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// Offsets in a record batch (magic 2), after the request's 4-byte size of it.
const (
	batchLengthAt     = 4 + 8
	batchCRCAt        = 4 + 17
	batchAttributesAt = 4 + 21
	batchHeaderLen    = 4 + 61
)

// appendRecordBatch appends to dst the messages idx as a record set of one record batch
// (magic 2, compressed with p.comp), preceded by its size as the produce request carries
// it. Messages without a time get now.
func (p *producer) appendRecordBatch(dst []byte, kms []kafka.Message, idx []int, now time.Time) ([]byte, error) {
	start := len(dst)
	first, maxTS := timestampMs(kms[idx[0]].Time, now), int64(0)
	dst = binary.BigEndian.AppendUint32(dst, 0)          // size of the record set, set below
	dst = binary.BigEndian.AppendUint64(dst, 0)          // base offset
	dst = binary.BigEndian.AppendUint32(dst, 0)          // batch length, set below
	dst = binary.BigEndian.AppendUint32(dst, ^uint32(0)) // partition leader epoch: -1
	dst = append(dst, 2)                                 // magic
	dst = binary.BigEndian.AppendUint32(dst, 0)          // crc, set below
	dst = binary.BigEndian.AppendUint16(dst, uint16(p.comp)&7)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(idx)-1)) // last offset delta
	dst = binary.BigEndian.AppendUint64(dst, uint64(first))
	dst = binary.BigEndian.AppendUint64(dst, 0)                // max timestamp, set below
	dst = binary.BigEndian.AppendUint64(dst, ^uint64(0))       // producer id: -1
	dst = binary.BigEndian.AppendUint16(dst, ^uint16(0))       // producer epoch: -1
	dst = binary.BigEndian.AppendUint32(dst, ^uint32(0))       // base sequence: -1
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(idx))) // records

	recs := dst
	var scratch *[]byte
	if p.comp != 0 {
		scratch = p.getBuf()
		recs = (*scratch)[:0]
	}
	for n, i := range idx {
		m := &kms[i]
		ts := timestampMs(m.Time, now)
		maxTS = max(maxTS, ts)
		recs = appendRecord(recs, m, ts-first, n)
	}
	if p.comp != 0 {
		out := bytes.NewBuffer(dst)
		zw := p.compressor(out)
		_, err := zw.Write(recs)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		if z, ok := zw.(*lz4.Writer); ok {
			p.lz4s.Put(z)
		}
		*scratch = recs
		p.bufs.Put(scratch)
		if err != nil {
			return dst[:start], err
		}
		dst = out.Bytes()
	} else {
		dst = recs
	}
	b := dst[start:]
	binary.BigEndian.PutUint64(b[4+35:], uint64(maxTS))
	binary.BigEndian.PutUint32(b[0:], uint32(len(b)-4))
	binary.BigEndian.PutUint32(b[batchLengthAt:], uint32(len(b)-batchLengthAt-4))
	binary.BigEndian.PutUint32(b[batchCRCAt:], crc32.Checksum(b[batchAttributesAt:], crc32.MakeTable(crc32.Castagnoli)))
	return dst, nil
}

// compressor compresses into w with p.comp. lz4 frames go without the content checksum
// kafka-go's codec adds (an xxh32 over every byte, a tenth of lz4's CPU here, which
// Kafka's own producer does not write either), in blocks of 1 MiB, a batch's size.
func (p *producer) compressor(w io.Writer) io.WriteCloser {
	if p.comp != kafka.Lz4 {
		return p.comp.Codec().NewWriter(w)
	}
	z, ok := p.lz4s.Get().(*lz4.Writer)
	if !ok {
		z = lz4.NewWriter(w)
		_ = z.Apply(lz4.ChecksumOption(false), lz4.BlockSizeOption(lz4.Block1Mb)) // valid options
	}
	z.Reset(w)
	return z
}

// appendRecord appends one record (Kafka's record format v2: zig-zag varints).
func appendRecord(dst []byte, m *kafka.Message, tsDelta int64, offsetDelta int) []byte {
	length := 1 + varintSize(tsDelta) + varintSize(int64(offsetDelta)) + nullBytesSize(m.Key) + nullBytesSize(m.Value) +
		varintSize(int64(len(m.Headers)))
	for _, h := range m.Headers {
		length += varintSize(int64(len(h.Key))) + len(h.Key) + nullBytesSize(h.Value)
	}
	dst = binary.AppendVarint(dst, int64(length))
	dst = append(dst, 0) // attributes
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, int64(offsetDelta))
	dst = appendNullBytes(dst, m.Key)
	dst = appendNullBytes(dst, m.Value)
	dst = binary.AppendVarint(dst, int64(len(m.Headers)))
	for _, h := range m.Headers {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendNullBytes(dst, h.Value)
	}
	return dst
}

func appendNullBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

func nullBytesSize(b []byte) int {
	if b == nil {
		return 1
	}
	return varintSize(int64(len(b))) + len(b)
}

// varintSize is the length of v as a zig-zag varint.
func varintSize(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// timestampMs is t in Unix milliseconds, now's when t is zero (as kafka-go).
func timestampMs(t, now time.Time) int64 {
	if t.IsZero() {
		t = now
	}
	return t.UnixMilli()
}
