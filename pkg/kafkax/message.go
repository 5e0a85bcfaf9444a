package kafkax

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"google.golang.org/protobuf/proto"
)

// The standard headers every logwarden message carries.
const (
	HeaderContentType = "content-type"
	HeaderSchema      = "lw-schema"
	HeaderEventID     = "lw-event-id"
	HeaderProducedAt  = "lw-produced-at"

	ContentTypeProtobuf = "application/x-protobuf"
)

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

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
	value, err := proto.Marshal(pm)
	if err != nil {
		return Message{}, fmt.Errorf("encode %s for %s: %w", pm.ProtoReflect().Descriptor().FullName(), topic, err)
	}
	return Message{
		Topic: topic,
		Key:   []byte(key),
		Value: value,
		Headers: []Header{
			{Key: HeaderContentType, Value: []byte(ContentTypeProtobuf)},
			{Key: HeaderSchema, Value: []byte(pm.ProtoReflect().Descriptor().FullName())},
			{Key: HeaderEventID, Value: []byte(id)},
			{Key: HeaderProducedAt, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
		},
		Time: now,
	}, nil
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
	km := kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value, Time: m.Time}
	if len(m.Headers) > 0 {
		km.Headers = make([]kafka.Header, len(m.Headers))
		for i, h := range m.Headers {
			km.Headers[i] = kafka.Header{Key: h.Key, Value: h.Value}
		}
	}
	return km
}

func fromKafka(km kafka.Message) Message {
	m := Message{
		Topic:         km.Topic,
		Partition:     km.Partition,
		Offset:        km.Offset,
		Key:           km.Key,
		Value:         km.Value,
		Time:          km.Time,
		HighWaterMark: km.HighWaterMark,
	}
	if len(km.Headers) > 0 {
		m.Headers = make([]Header, len(km.Headers))
		for i, h := range km.Headers {
			m.Headers[i] = Header{Key: h.Key, Value: h.Value}
		}
	}
	return m
}
