package kafkax

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// WriterConfig tunes the producer. The defaults favour latency (a few ms of linger, never
// kafka-go's 1 s BatchTimeout) while still batching under load.
type WriterConfig struct {
	BatchSize    int           `mapstructure:"batch_size" desc:"max messages per produce request per partition"`
	Linger       time.Duration `mapstructure:"linger" desc:"how long a partial batch waits for more messages"`
	BatchBytes   int64         `mapstructure:"batch_bytes" desc:"max bytes per produce request per partition"`
	WriteTimeout time.Duration `mapstructure:"write_timeout" desc:"timeout of one produce request"`
	MaxAttempts  int           `mapstructure:"max_attempts" desc:"attempts per write before it fails"`
	Compression  string        `mapstructure:"compression" desc:"none, gzip, snappy, lz4 or zstd"`
}

// DefaultWriterConfig returns the defaults.
func DefaultWriterConfig() WriterConfig {
	return WriterConfig{
		BatchSize:    1000,
		Linger:       2 * time.Millisecond,
		BatchBytes:   4 << 20,
		WriteTimeout: 10 * time.Second,
		MaxAttempts:  5,
		Compression:  "none",
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

// Writer writes messages synchronously with acks=all: Write returns nil only once every
// message is on all in-sync replicas. Messages name their own topic. Safe for concurrent use.
type Writer struct {
	w       *kafka.Writer
	tr      *kafka.Transport
	metrics *Metrics
}

// NewWriter builds a writer; it connects lazily on the first Write.
func NewWriter(cfg Config, wc WriterConfig, m *Metrics) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := wc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka writer: %w", err)
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	comp, _ := compression(wc.Compression)
	return &Writer{
		metrics: m,
		tr:      tr,
		w: &kafka.Writer{
			Addr: kafka.TCP(cfg.brokers()...),
			// Murmur2, as the Java client, so other producers keying by entity agree with us.
			Balancer:               &kafka.Murmur2Balancer{},
			MaxAttempts:            wc.MaxAttempts,
			WriteBackoffMin:        50 * time.Millisecond,
			WriteBackoffMax:        1 * time.Second,
			BatchSize:              wc.BatchSize,
			BatchBytes:             wc.BatchBytes,
			BatchTimeout:           wc.Linger,
			ReadTimeout:            wc.WriteTimeout,
			WriteTimeout:           wc.WriteTimeout,
			RequiredAcks:           kafka.RequireAll,
			Async:                  false,
			Compression:            comp,
			Transport:              tr,
			AllowAutoTopicCreation: false,
		},
	}, nil
}

// Write sends msgs and waits until the brokers acknowledged all of them. An error does not
// prove a message was not written (kafka-go issue #1427): callers that retry rely on ids.
func (w *Writer) Write(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("write message %d: no topic", i)
		}
		kms[i] = toKafka(m)
	}
	start := time.Now()
	err := w.w.WriteMessages(ctx, kms...)
	w.metrics.wrote(msgs, time.Since(start), err)
	if err != nil {
		return fmt.Errorf("write %d messages to %s: %w", len(msgs), describeTopics(msgs), err)
	}
	return nil
}

// Close flushes and closes the connections.
func (w *Writer) Close() error {
	err := w.w.Close()
	// kafka.Writer closes only a transport it made itself.
	w.tr.CloseIdleConnections()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close kafka writer: %w", err)
	}
	return nil
}

func describeTopics(msgs []Message) string {
	seen := make(map[string]struct{}, 2)
	out := ""
	for _, m := range msgs {
		if _, ok := seen[m.Topic]; ok {
			continue
		}
		seen[m.Topic] = struct{}{}
		if out != "" {
			out += ","
		}
		out += m.Topic
	}
	return out
}
