package service

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// AlertSchema is the lw-schema header value of an alert record.
var AlertSchema = string((&logwardenpb.Alert{}).ProtoReflect().Descriptor().FullName())

// Why a record is not an alert; the dead letter carries the full message.
var (
	ErrEmpty         = errors.New("empty record (tombstone)")
	ErrSchema        = errors.New("not a logwarden.v1.Alert record")
	ErrDecode        = errors.New("invalid Alert protobuf")
	ErrNoID          = errors.New("alert without id")
	ErrNoFingerprint = errors.New("alert without fingerprint")
)

// reasonLabel is the metric label of each error above.
func reasonLabel(err error) string {
	for _, r := range []struct {
		err   error
		label string
	}{{ErrEmpty, "empty"}, {ErrSchema, "schema"}, {ErrDecode, "decode"}, {ErrNoID, "no_id"}, {ErrNoFingerprint, "no_fingerprint"}} {
		if errors.Is(err, r.err) {
			return r.label
		}
	}
	return "other"
}

// DecodeAlert reads an alert record: it must carry lw-schema logwarden.v1.Alert (and,
// when set, content-type application/x-protobuf), decode, and have an id (what makes a
// redelivery harmless) and a fingerprint (what groups it). An empty record, a Verdict,
// another schema or garbage is an error: the record belongs in the dead-letter topic.
// Alerts without ids are never given one and merged: each is dead-lettered on its own.
func DecodeAlert(m kafkax.Message) (*logwardenpb.Alert, error) {
	if len(m.Value) == 0 {
		return nil, ErrEmpty
	}
	schema, ctype := m.Header(kafkax.HeaderSchema), m.Header(kafkax.HeaderContentType)
	if schema != AlertSchema || (ctype != "" && ctype != kafkax.ContentTypeProtobuf) {
		return nil, fmt.Errorf("%w: lw-schema %q content-type %q (want %s, %s)", ErrSchema,
			render.ClipRunes(render.Sanitize(schema), 80), render.ClipRunes(render.Sanitize(ctype), 80), AlertSchema, kafkax.ContentTypeProtobuf)
	}
	a := &logwardenpb.Alert{}
	if err := proto.Unmarshal(m.Value, a); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if a.GetId() == "" {
		return nil, ErrNoID
	}
	if a.GetFingerprint() == "" {
		return nil, ErrNoFingerprint
	}
	return a, nil
}
