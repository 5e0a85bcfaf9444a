package silence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Schema is the lw-schema header of a silence record.
var Schema = string((&logwardenpb.Silence{}).ProtoReflect().Descriptor().FullName())

// Writer writes records (kafkax.Writer).
type Writer interface {
	Write(ctx context.Context, msgs ...kafkax.Message) error
}

// Store is a Set kept in step with the silences topic: Apply takes the topic's records
// (kafkax.Admin.Follow), Add and Expire write them and apply them at once, so a silence
// made on this replica mutes its next alert without waiting for the topic's echo.
type Store struct {
	*Set
	topic string
	w     Writer
	log   *zap.Logger
	// Invalid counts records that are not valid silences (skipped); may be nil.
	Invalid func()
}

// NewStore keeps a Set for topic, writing with w.
func NewStore(topic string, w Writer, log *zap.Logger) *Store {
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{Set: NewSet(), topic: topic, w: w, log: log}
}

// Apply takes one record of the topic: a tombstone deletes its key, a silence is put.
// A record that is not a valid silence, or whose key is not its id, is logged and
// skipped (the table must not lose a valid silence over a bad one).
func (s *Store) Apply(m kafkax.Message) {
	if len(m.Value) == 0 {
		s.Delete(string(m.Key))
		return
	}
	sil, err := s.decode(m)
	if err != nil {
		s.log.Warn("invalid silence record skipped", zap.Stringer("record", m), zap.Error(err))
		if s.Invalid != nil {
			s.Invalid()
		}
		return
	}
	s.Put(sil)
}

func (s *Store) decode(m kafkax.Message) (*Silence, error) {
	if h := m.Header(kafkax.HeaderSchema); h != "" && h != Schema {
		return nil, fmt.Errorf("%w: lw-schema %s", ErrNotSilence, clip(h))
	}
	sil, err := Decode(m.Value)
	if err != nil {
		return nil, err
	}
	if string(m.Key) != sil.ID {
		return nil, fmt.Errorf("silence %s under key %s: the key must be the id", clip(sil.ID), clip(string(m.Key)))
	}
	return sil, nil
}

// Add validates sil, writes it and puts it in the set.
func (s *Store) Add(ctx context.Context, sil *Silence) error {
	if err := sil.Validate(); err != nil {
		return err
	}
	m, err := kafkax.NewProtoMessage(s.topic, sil.ID, sil.ID, sil.Proto())
	if err != nil {
		return err
	}
	if err := s.w.Write(ctx, m); err != nil {
		return fmt.Errorf("write silence %s to %s: %w", sil.ID, s.topic, err)
	}
	s.Put(sil)
	return nil
}

// ErrUnknown is an id the set does not hold.
var ErrUnknown = errors.New("no such silence")

// Expire ends the silence id now: its tombstone is written and it leaves the set.
func (s *Store) Expire(ctx context.Context, id string) error {
	if _, ok := s.Get(id); !ok {
		return fmt.Errorf("%w: %s", ErrUnknown, clip(id))
	}
	return s.tombstone(ctx, id)
}

func (s *Store) tombstone(ctx context.Context, ids ...string) error {
	msgs := make([]kafkax.Message, len(ids))
	for i, id := range ids {
		msgs[i] = kafkax.Message{Topic: s.topic, Key: []byte(id)}
	}
	if err := s.w.Write(ctx, msgs...); err != nil {
		return fmt.Errorf("write tombstones to %s: %w", s.topic, err)
	}
	for _, id := range ids {
		s.Delete(id)
	}
	return nil
}

// ExpireEnded writes the tombstones of the silences over at now (every replica may:
// a tombstone written twice is harmless) and returns how many.
func (s *Store) ExpireEnded(ctx context.Context, now time.Time) (int, error) {
	ids := s.Ended(now)
	if len(ids) == 0 {
		return 0, nil
	}
	if err := s.tombstone(ctx, ids...); err != nil {
		return 0, err
	}
	s.log.Info("silences ended", zap.Strings("ids", ids))
	return len(ids), nil
}
