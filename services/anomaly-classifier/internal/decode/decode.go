package decode

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Decoder fills ev (fresh or reset) from one record, or says why it cannot. ev may share
// the record's bytes: m.Value must not be modified afterwards.
type Decoder interface {
	Decode(m kafkax.Message, ev *logwardenpb.LogEvent) error
}

// logEventSchema is the lw-schema header value of logwarden's own events.
var logEventSchema = string((&logwardenpb.LogEvent{}).ProtoReflect().Descriptor().FullName())

// Errors the decoders wrap; the dead letter carries the full message.
var (
	ErrEmpty     = errors.New("empty record")
	ErrProtobuf  = errors.New("invalid LogEvent protobuf")
	ErrSchema    = errors.New("unsupported schema")
	ErrJSON      = errors.New("invalid JSON log record")
	ErrNoMessage = errors.New("JSON record without a log or message string field")
	ErrBinary    = errors.New("binary data, not a text line")
)

// Proto decodes logwarden's protobuf LogEvent. An event that was not parsed
// upstream (no parse.format field) is parsed from its raw line here.
type Proto struct{ Parser *logparse.Parser }

// Decode implements Decoder.
func (d Proto) Decode(m kafkax.Message, ev *logwardenpb.LogEvent) error {
	if len(m.Value) == 0 {
		return ErrEmpty
	}
	// UnmarshalVTUnsafe is generated code (no reflection) whose strings share m.Value's
	// bytes instead of copying them: a fraction of proto.Unmarshal's CPU and allocations.
	// Record values are never modified once read, so the sharing is safe. It does not check
	// that strings are UTF-8 as proto3 requires; invalidUTF8 does, so the same records are
	// refused.
	if err := ev.UnmarshalVTUnsafe(m.Value); err != nil {
		return fmt.Errorf("%w: %w", ErrProtobuf, err)
	}
	if f := invalidUTF8(ev); f != "" {
		return fmt.Errorf("%w: field %s is not valid UTF-8", ErrProtobuf, f)
	}
	detach(ev)
	if ev.Raw == "" && ev.Action == "" {
		return fmt.Errorf("%w: event has no raw line", ErrProtobuf)
	}
	if ev.Fields[logparse.FieldFormat] == "" && ev.Raw != "" && d.Parser != nil {
		t := ev.Time
		d.Parser.Parse(ev.Raw, ev)
		if ev.Time == nil {
			ev.Time = t
		}
	}
	if ev.Id == "" {
		ev.Id = RecordID(m)
	}
	fillTimes(ev, m, nil)
	return nil
}

// detach gives the short fields the engine keeps for long (users, addresses, hosts,
// actions and targets as keys of baselines and windows) bytes of their own, in one
// allocation, so that they do not keep the whole record alive.
func detach(ev *logwardenpb.LogEvent) {
	var b strings.Builder // one copy, even when a single field is set (a concatenation would not copy it)
	b.Grow(len(ev.User) + len(ev.Ip) + len(ev.Host) + len(ev.Source) + len(ev.Action) + len(ev.Target))
	for _, s := range [...]string{ev.User, ev.Ip, ev.Host, ev.Source, ev.Action, ev.Target} {
		b.WriteString(s)
	}
	all := b.String()
	cut := func(s string) string {
		v := all[:len(s)]
		all = all[len(s):]
		return v
	}
	ev.User, ev.Ip, ev.Host, ev.Source, ev.Action, ev.Target = cut(ev.User), cut(ev.Ip), cut(ev.Host), cut(ev.Source), cut(ev.Action), cut(ev.Target)
}

// invalidUTF8 names the first string field of ev that is not valid UTF-8, or "".
func invalidUTF8(ev *logwardenpb.LogEvent) string {
	for _, f := range [...]struct{ name, v string }{{"id", ev.Id}, {"source", ev.Source}, {"host", ev.Host}, {"raw", ev.Raw},
		{"user", ev.User}, {"ip", ev.Ip}, {"action", ev.Action}, {"target", ev.Target}} {
		if !utf8.ValidString(f.v) {
			return f.name
		}
	}
	for k, v := range ev.Fields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return "fields"
		}
	}
	if l := ev.Label; l != nil && (!utf8.ValidString(l.Scenario) || !utf8.ValidString(l.IncidentId)) {
		return "label"
	}
	return ""
}

// Text decodes one plain text line per record.
type Text struct{ Parser *logparse.Parser }

// Decode implements Decoder.
func (d Text) Decode(m kafkax.Message, ev *logwardenpb.LogEvent) error {
	line := bytes.TrimRight(m.Value, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return ErrEmpty
	}
	if !isText(line) {
		return ErrBinary
	}
	ev.Id = RecordID(m)
	ev.Source = "kafka:" + m.Topic
	d.Parser.Parse(string(line), ev)
	fillTimes(ev, m, nil)
	return nil
}

// Auto picks the decoder for each record.
type Auto struct {
	proto Proto
	json  JSON
	text  Text
}

// New returns the detecting decoder; p parses lines (shared, not concurrency-safe
// when p is; use one Auto per goroutine).
func New(p *logparse.Parser) *Auto {
	return &Auto{proto: Proto{Parser: p}, json: JSON{Parser: p}, text: Text{Parser: p}}
}

// Decode implements Decoder.
func (a *Auto) Decode(m kafkax.Message, ev *logwardenpb.LogEvent) error {
	return a.pick(m).Decode(m, ev)
}

func (a *Auto) pick(m kafkax.Message) Decoder {
	if string(m.HeaderBytes(kafkax.HeaderSchema)) == logEventSchema { // compared without a copy
		return a.proto
	}
	schema := m.Header(kafkax.HeaderSchema)
	switch {
	case schema != "" || m.Header(kafkax.HeaderContentType) == kafkax.ContentTypeProtobuf:
		return reject{fmt.Errorf("%w: lw-schema %q content-type %q (want %s)", ErrSchema,
			clip(schema), clip(m.Header(kafkax.HeaderContentType)), logEventSchema)}
	}
	v := bytes.TrimLeft(m.Value, " \t\r\n")
	if len(v) > 0 && v[0] == '{' {
		return a.json
	}
	return a.text
}

type reject struct{ err error }

func (r reject) Decode(kafkax.Message, *logwardenpb.LogEvent) error { return r.err }

// RecordID derives a stable event id from the record's coordinates: a
// redelivery of the same record gets the same id.
func RecordID(m kafkax.Message) string {
	h := sha256.New()
	h.Write([]byte(m.Topic))
	var b [24]byte
	h.Write(strconv.AppendInt(b[:0], int64(m.Partition), 10))
	h.Write([]byte{'/'})
	h.Write(strconv.AppendInt(b[:0], m.Offset, 10))
	sum := h.Sum(nil)
	return event.NewIDFrom(m.Time, bytes.NewReader(sum))
}

// fillTimes sets ev.Time from (in order) the line, the shipper's time, the record's time.
func fillTimes(ev *logwardenpb.LogEvent, m kafkax.Message, shipper *time.Time) {
	if ev.Time == nil && shipper != nil && !shipper.IsZero() {
		ev.Time = timestamppb.New(*shipper)
	}
	if !m.Time.IsZero() {
		if ev.Time == nil {
			ev.Time = timestamppb.New(m.Time)
		}
		if ev.ReceivedAt == nil {
			ev.ReceivedAt = timestamppb.New(m.Time)
		}
	}
}

// isText rejects binary data: a NUL byte, or more than 1 in 10 bytes being
// control characters (other than tab, CR, LF, ESC) or invalid UTF-8.
func isText(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != 0x1b) || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			bad++
		}
		i += n
	}
	return bad*10 <= len(b)
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
