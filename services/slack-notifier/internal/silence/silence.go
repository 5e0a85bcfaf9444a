package silence

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Silence is a checked, compiled logwardenpb.Silence.
type Silence struct {
	ID        string
	Matchers  []Matcher
	StartsAt  time.Time
	EndsAt    time.Time
	UpdatedAt time.Time
	CreatedBy string
	Comment   string
	// Made with a button: the alert and its Slack message.
	AlertID, SlackChannel, SlackTS string
}

// maxText bounds the free-text fields of a silence record.
const maxText = 2048

// NewID is a random silence id (16 hex characters).
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FromProto checks and compiles a silence record.
func FromProto(p *logwardenpb.Silence) (*Silence, error) {
	s := &Silence{ID: p.GetId(), StartsAt: p.GetStartsAt().AsTime(), EndsAt: p.GetEndsAt().AsTime(),
		UpdatedAt: p.GetUpdatedAt().AsTime(), CreatedBy: p.GetCreatedBy(), Comment: p.GetComment(),
		AlertID: p.GetAlertId(), SlackChannel: p.GetSlackChannel(), SlackTS: p.GetSlackTs()}
	for _, m := range p.GetMatchers() {
		c, err := NewMatcher(m.GetName(), m.GetValue(), m.GetIsRegex(), m.GetIsEqual())
		if err != nil {
			return nil, fmt.Errorf("silence %s: %w", clip(s.ID), err)
		}
		s.Matchers = append(s.Matchers, c)
	}
	if p.GetStartsAt() == nil || p.GetEndsAt() == nil {
		return nil, fmt.Errorf("silence %s: starts_at and ends_at are required", clip(s.ID))
	}
	return s, s.Validate()
}

// Validate checks what every silence needs: an id, a matcher that does not select the
// empty label, an end after the start, bounded text.
func (s *Silence) Validate() error {
	switch {
	case s.ID == "" || len(s.ID) > 64 || strings.ContainsAny(s.ID, " \t\r\n"):
		return fmt.Errorf("silence %s: bad id", clip(s.ID))
	case len(s.Matchers) == 0:
		return fmt.Errorf("silence %s: no matchers", s.ID)
	case len(s.Matchers) > 16:
		return fmt.Errorf("silence %s: %d matchers, at most 16", s.ID, len(s.Matchers))
	case !s.EndsAt.After(s.StartsAt):
		return fmt.Errorf("silence %s: ends at %s, not after its start %s", s.ID, s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339))
	case len(s.CreatedBy) > maxText || len(s.Comment) > maxText || len(s.AlertID)+len(s.SlackChannel)+len(s.SlackTS) > maxText:
		return fmt.Errorf("silence %s: text fields longer than %d bytes", s.ID, maxText)
	}
	for _, m := range s.Matchers {
		if !m.Matches(Labels{}) {
			return nil
		}
	}
	return fmt.Errorf("silence %s: %w", s.ID, errMatchesAll)
}

// Proto is the record's value.
func (s *Silence) Proto() *logwardenpb.Silence {
	p := &logwardenpb.Silence{Id: s.ID, StartsAt: timestamppb.New(s.StartsAt), EndsAt: timestamppb.New(s.EndsAt),
		UpdatedAt: timestamppb.New(s.UpdatedAt), CreatedBy: s.CreatedBy, Comment: s.Comment,
		AlertId: s.AlertID, SlackChannel: s.SlackChannel, SlackTs: s.SlackTS}
	for _, m := range s.Matchers {
		p.Matchers = append(p.Matchers, m.Proto())
	}
	return p
}

// Active reports whether s mutes alerts at now.
func (s *Silence) Active(now time.Time) bool { return !now.Before(s.StartsAt) && now.Before(s.EndsAt) }

// Ended reports whether s is over at now.
func (s *Silence) Ended(now time.Time) bool { return !now.Before(s.EndsAt) }

// Matches reports whether every matcher selects l.
func (s *Silence) Matches(l Labels) bool {
	for _, m := range s.Matchers {
		if !m.Matches(l) {
			return false
		}
	}
	return true
}

// Same reports whether s and o have the same matchers (in any order).
func (s *Silence) Same(o *Silence) bool {
	if len(s.Matchers) != len(o.Matchers) {
		return false
	}
	for _, m := range s.Matchers {
		found := false
		for _, n := range o.Matchers {
			if m.Name == n.Name && m.Value == n.Value && m.IsRegex == n.IsRegex && m.IsEqual == n.IsEqual {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MatchersString is the matchers in the command line's form.
func (s *Silence) MatchersString() string {
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		parts[i] = m.String()
	}
	return strings.Join(parts, " ")
}

// ErrNotSilence is a record that is not a logwarden.v1.Silence.
var ErrNotSilence = errors.New("not a logwarden.v1.Silence record")

// Decode reads a record value.
func Decode(value []byte) (*Silence, error) {
	p := &logwardenpb.Silence{}
	if err := proto.Unmarshal(value, p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSilence, err)
	}
	return FromProto(p)
}
