package kafkax

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// DLQTopic is the dead-letter topic of topic.
func DLQTopic(topic string) string { return topic + ".dlq" }

// DeadLetter turns a message that service could not process into a DeadLetter record on
// DLQTopic(m.Topic), keyed by the original key, carrying the reason, the original bytes,
// headers and coordinates. Return it among a handler's outputs; the loop then goes on.
func DeadLetter(m Message, service string, reason error) Message {
	return deadLetter(m, service, reason, time.Now())
}

func deadLetter(m Message, service string, reason error, now time.Time) Message {
	why := "unknown"
	if reason != nil {
		why = reason.Error()
	}
	dl := &logwardenpb.DeadLetter{
		Topic:     m.Topic,
		Partition: int32(m.Partition),
		Offset:    m.Offset,
		Key:       m.Key,
		Value:     m.Value,
		Error:     why,
		Service:   service,
		Time:      timestamppb.New(now),
	}
	if len(m.Headers) > 0 {
		dl.Headers = make(map[string]string, len(m.Headers))
		for _, h := range m.Headers {
			dl.Headers[h.Key] = string(h.Value)
		}
	}
	id := fmt.Sprintf("%s-%d-%d", m.Topic, m.Partition, m.Offset)
	out, err := newProtoMessage(DLQTopic(m.Topic), string(m.Key), id, dl, now)
	if err != nil {
		// A DeadLetter of valid Go values always encodes; keep the bytes raw if not.
		out = Message{Topic: DLQTopic(m.Topic), Key: m.Key, Value: m.Value, Time: now}
	}
	return out
}

// DecodeDeadLetter reads a record written by DeadLetter.
func DecodeDeadLetter(m Message) (*logwardenpb.DeadLetter, error) {
	dl := &logwardenpb.DeadLetter{}
	if err := proto.Unmarshal(m.Value, dl); err != nil {
		return nil, fmt.Errorf("decode dead letter %s: %w", m, err)
	}
	return dl, nil
}
