package kafkax

import (
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The standard headers every logwarden message carries.
const (
	HeaderContentType = "content-type"
	HeaderSchema      = "lw-schema"
	HeaderEventID     = "lw-event-id"
	HeaderProducedAt  = "lw-produced-at"

	ContentTypeProtobuf = "application/x-protobuf"
)

// Header is one Kafka record header. It is kafka-go's own type, so that messages cross
// between kafkax and kafka-go without copying their headers.
type Header = kafka.Header

// Message is a Kafka record without kafka-go's types. Topic, Partition and Offset are set
// on consumed messages; a message to write needs Topic (the writer picks the partition
// from the key).
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Time      time.Time
	// HighWaterMark is the partition's end offset when the message was fetched (for lag).
	HighWaterMark int64
}

// Header returns the value of the first header named key, or "".
func (m Message) Header(key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// HeaderBytes returns the value of the first header named key (nil when there is none),
// without copying it: for comparisons on the hot path.
func (m Message) HeaderBytes(key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// String names the message's coordinates, for errors and logs.
func (m Message) String() string {
	return fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)
}

// NewProtoMessage encodes pm for topic, keyed by key, with the standard headers.
// id goes to lw-event-id (the event, alert or record id that makes redelivery harmless).
func NewProtoMessage(topic, key, id string, pm proto.Message) (Message, error) {
	return newProtoMessage(topic, key, id, pm, time.Now())
}

func newProtoMessage(topic, key, id string, pm proto.Message, now time.Time) (Message, error) {
	return NewEncoder(now, 1, 0).Message(topic, key, id, pm)
}

// Encoder builds the messages of one batch: protobuf values and the standard headers,
// with every message's bytes (key, value, event id) in one growing buffer and its
// headers in one shared slice, so a batch of n messages costs a few allocations rather
// than seven per message. Every message carries the same lw-produced-at: the time the
// Encoder was made. The messages stay valid after the Encoder is dropped; an Encoder is
// for one goroutine.
type Encoder struct {
	now        time.Time
	producedAt []byte
	buf        []byte
	headers    []Header
	schemaName protoreflect.FullName
	schema     []byte
	protobuf   []byte
	opts       proto.MarshalOptions
}

// vtMarshaler is what protoc-gen-go-vtproto generates for logwarden's messages: encoding
// without reflection, several times cheaper than proto.Marshal.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
}

// NewEncoder returns an encoder for about n messages of about size bytes each (0: unknown),
// stamped now.
func NewEncoder(now time.Time, n, size int) *Encoder {
	if size <= 0 {
		size = 256
	}
	e := &Encoder{now: now, buf: make([]byte, 0, n*(size+48)), headers: make([]Header, 0, 4*n),
		protobuf: []byte(ContentTypeProtobuf)}
	e.producedAt = now.UTC().AppendFormat(nil, time.RFC3339Nano)
	return e
}

// Reset makes e an encoder for a new batch, as NewEncoder(now, n, size), keeping its
// buffers: only once nothing refers to the messages it made before (they share them).
func (e *Encoder) Reset(now time.Time, n, size int) {
	if size <= 0 {
		size = 256
	}
	e.now = now
	e.producedAt = now.UTC().AppendFormat(nil, time.RFC3339Nano)
	if want := n * (size + 48); cap(e.buf) < want {
		e.buf = make([]byte, 0, want)
	}
	if cap(e.headers) < 4*n {
		e.headers = make([]Header, 0, 4*n)
	}
	e.buf, e.headers = e.buf[:0], e.headers[:0]
}

// Message encodes pm for topic, keyed by key, with the standard headers; id goes to
// lw-event-id.
func (e *Encoder) Message(topic, key, id string, pm proto.Message) (Message, error) {
	name := pm.ProtoReflect().Descriptor().FullName()
	if name != e.schemaName {
		e.schemaName, e.schema = name, []byte(name)
	}
	start := len(e.buf)
	var buf []byte
	if vt, ok := pm.(vtMarshaler); ok {
		size := vt.SizeVT()
		buf = slices.Grow(e.buf, size+len(key)+len(id))[:start+size]
		if _, err := vt.MarshalToSizedBufferVT(buf[start:]); err != nil {
			return Message{}, fmt.Errorf("encode %s for %s: %w", name, topic, err)
		}
	} else {
		var err error
		if buf, err = e.opts.MarshalAppend(e.buf, pm); err != nil {
			return Message{}, fmt.Errorf("encode %s for %s: %w", name, topic, err)
		}
	}
	buf = append(buf, key...)
	buf = append(buf, id...)
	e.buf = buf
	vEnd := len(buf) - len(key) - len(id)
	kEnd := vEnd + len(key)
	value := buf[start:vEnd:vEnd]
	k := buf[vEnd:kEnd:kEnd]
	idb := buf[kEnd:len(buf):len(buf)]
	if len(value) == 0 {
		value = nil
	}
	if len(e.headers)+4 > cap(e.headers) {
		e.headers = make([]Header, 0, max(16, 2*cap(e.headers)))
	}
	at := len(e.headers)
	e.headers = append(e.headers,
		Header{Key: HeaderContentType, Value: e.protobuf},
		Header{Key: HeaderSchema, Value: e.schema},
		Header{Key: HeaderEventID, Value: idb},
		Header{Key: HeaderProducedAt, Value: e.producedAt})
	return Message{Topic: topic, Key: k, Value: value, Headers: e.headers[at : at+4 : at+4], Time: e.now}, nil
}

// ProducedAt parses the lw-produced-at header; ok is false when it is missing or bad.
func (m Message) ProducedAt() (t time.Time, ok bool) {
	v := m.Header(HeaderProducedAt)
	if v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

func toKafka(m Message) kafka.Message {
	return kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Headers: m.Headers, Time: m.Time}
}

func fromKafka(km kafka.Message) Message {
	return Message{
		Topic:         km.Topic,
		Partition:     km.Partition,
		Offset:        km.Offset,
		Key:           km.Key,
		Value:         km.Value,
		Headers:       km.Headers,
		Time:          km.Time,
		HighWaterMark: km.HighWaterMark,
	}
}
