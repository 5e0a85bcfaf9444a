package kafkax

import (
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/pkg/utf8safe"
)

// DLQTopic is the dead-letter topic of topic.
func DLQTopic(topic string) string { return topic + ".dlq" }

// deadLetterSchema is the lw-schema header of a record written by DeadLetter.
var deadLetterSchema = string((&logwardenpb.DeadLetter{}).ProtoReflect().Descriptor().FullName())

// Bounds of the parts of a dead letter that carry text from the rejected record or its
// error; past them the text is cut (at a character boundary) so the record stays
// readable and small next to the value it describes.
const (
	maxDeadLetterError       = 8 << 10
	maxDeadLetterHeaderValue = 1 << 10
	maxDeadLetterKey         = 1 << 10
	hexPrefix                = "hex:"
)

// DeadLetter turns a message that service could not process into a DeadLetter record on
// DLQTopic(m.Topic), keyed by the original key, carrying the reason, the original bytes,
// headers and coordinates. Return it among a handler's outputs; the loop then goes on.
//
// The record always encodes: text fields that must be UTF-8 in protobuf (the error, the
// service, header keys) have invalid bytes replaced by U+FFFD, and a header value that is
// not UTF-8 is kept as "hex:" and its bytes in hexadecimal. When the record is larger
// than the dead-letter topic accepts, the Writer trims it to fit (the value first,
// keeping original_value_size).
func DeadLetter(m Message, service string, reason error) Message {
	return deadLetter(m, service, reason, time.Now())
}

func deadLetter(m Message, service string, reason error, now time.Time) Message {
	why := "unknown"
	if reason != nil {
		why = reason.Error()
	}
	dl := &logwardenpb.DeadLetter{
		Topic:     utf8safe.String(m.Topic),
		Partition: int32(m.Partition),
		Offset:    m.Offset,
		Key:       m.Key,
		Value:     m.Value,
		Error:     utf8safe.ClipMark(utf8safe.String(why), maxDeadLetterError, "…"),
		Service:   utf8safe.String(service),
		Time:      timestamppb.New(now),
	}
	if len(m.Headers) > 0 {
		dl.Headers = make(map[string]string, len(m.Headers))
		for _, h := range m.Headers {
			dl.Headers[utf8safe.String(h.Key)] = headerText(h.Value)
		}
	}
	id := fmt.Sprintf("%s-%d-%d", m.Topic, m.Partition, m.Offset)
	if m.Offset < 0 {
		// Not from a topic (an output that could not be written): its own id says which.
		if own := m.Header(HeaderEventID); own != "" {
			id = own
		}
	}
	out, err := newProtoMessage(DLQTopic(m.Topic), string(m.Key), id, dl, now)
	if err != nil {
		// Unreachable: every string field is valid UTF-8. Keep the record rather than lose it.
		out = Message{Topic: DLQTopic(m.Topic), Key: m.Key, Value: m.Value, Time: now}
	}
	return out
}

// headerText is a header value as a protobuf string: itself when it is UTF-8, else "hex:"
// and its bytes in hexadecimal (nothing lost, nothing that fails to encode).
func headerText(v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	return hexPrefix + hex.EncodeToString(v)
}

// unwrittenDeadLetter is the dead letter of an output the writer refused for good: it
// goes to DLQTopic(out.Topic) with no coordinates (partition and offset -1).
func unwrittenDeadLetter(out Message, service string, reason error) Message {
	out.Partition, out.Offset = -1, -1
	return DeadLetter(out, service, reason)
}

// isDeadLetter says whether m was made by DeadLetter.
func isDeadLetter(m Message) bool { return m.Header(HeaderSchema) == deadLetterSchema }

// fitDeadLetter trims the dead letter in m so that its record (as recordSize counts it)
// is at most limit bytes: huge keys, error texts and header values are cut to their bounds,
// then the value to what is left (original_value_size keeps its size). ok is false when m
// is not a dead letter or even its bare envelope does not fit.
func fitDeadLetter(m Message, limit int64) (Message, bool) {
	if !isDeadLetter(m) {
		return m, false
	}
	dl := &logwardenpb.DeadLetter{}
	if err := proto.Unmarshal(m.Value, dl); err != nil {
		return m, false
	}
	orig := dl.Value
	origSize := dl.OriginalValueSize // set when an earlier fit trimmed it already
	if origSize == 0 {
		origSize = int64(len(orig))
	}
	// The huge parts other than the value, first.
	if n := len(dl.Key); n > maxDeadLetterKey {
		dl.Key = dl.Key[:maxDeadLetterKey]
		dl.Error = utf8safe.ClipMark(dl.Error, maxDeadLetterError-64, "…") + fmt.Sprintf(" (key trimmed from %d bytes)", n)
	}
	m.Key = dl.Key
	for k, v := range dl.Headers {
		if len(v) > maxDeadLetterHeaderValue {
			dl.Headers[k] = utf8safe.ClipMark(v, maxDeadLetterHeaderValue, "…")
		}
	}
	dl.Error = utf8safe.ClipMark(dl.Error, maxDeadLetterError, "…")
	for _, hard := range []bool{false, true} {
		if hard {
			// A topic limit of a few KiB: keep the coordinates and the reason's start.
			dl.Headers, dl.Key, m.Key = nil, nil, nil
			dl.Error = utf8safe.ClipMark(dl.Error, 256, "…")
		}
		dl.Value, dl.OriginalValueSize = nil, origSize
		envelope, err := proto.Marshal(dl)
		if err != nil {
			return m, false
		}
		m.Value = envelope
		// Room for the value: what is left, less its field tag and length (≤ 1+5 bytes).
		room := limit - recordSize(toKafka(m)) - 6
		if room < 0 {
			continue
		}
		dl.Value = orig[:min(int64(len(orig)), room)]
		if int64(len(dl.Value)) == origSize {
			dl.OriginalValueSize = 0 // complete after all
		}
		if m.Value, err = proto.Marshal(dl); err != nil {
			return m, false
		}
		if recordSize(toKafka(m)) <= limit {
			return m, true
		}
	}
	return m, false
}

// DecodeDeadLetter reads a record written by DeadLetter.
func DecodeDeadLetter(m Message) (*logwardenpb.DeadLetter, error) {
	dl := &logwardenpb.DeadLetter{}
	if err := proto.Unmarshal(m.Value, dl); err != nil {
		return nil, fmt.Errorf("decode dead letter %s: %w", m, err)
	}
	return dl, nil
}
