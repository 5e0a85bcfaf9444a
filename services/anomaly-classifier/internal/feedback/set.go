package feedback

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// Schema is the lw-schema header of a feedback record.
var Schema = string((&logwardenpb.Feedback{}).ProtoReflect().Descriptor().FullName())

// TopicSpec is the spec of the feedback topic: records kept forever (the audit trail;
// every replica reads it all at start), one partition. The notifier creates it the
// same way.
func TopicSpec(name string) kafkax.TopicSpec {
	return kafkax.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: 1, Retention: -1}
}

// Scope is what a "not an issue" accepts: a rule, and either a user and a command
// shape, or a host and a line template.
type Scope struct {
	Rule     string // detector/rule id
	User     string
	Shape    string
	Host     string
	Template string
}

// Key identifies the scope.
func (s Scope) Key() string {
	if s.Shape != "" {
		return "cmd\x00" + s.Rule + "\x00" + s.User + "\x00" + s.Shape
	}
	return "tpl\x00" + s.Rule + "\x00" + s.Host + "\x00" + s.Template
}

// String names the scope for people.
func (s Scope) String() string {
	if s.Shape != "" {
		return fmt.Sprintf("user %q running %q (rule %s)", s.User, s.Shape, s.Rule)
	}
	return fmt.Sprintf("lines %q on host %q (rule %s)", s.Template, s.Host, s.Rule)
}

// maxField bounds the text of a scope taken from a record.
const maxField = 512

// scopeOf derives the scope of rule (detector/rule id) for event ev, with the shaper
// held by the caller.
func scopeOf(sh *Shaper, rule string, ev *logwardenpb.LogEvent) Scope {
	s := Scope{Rule: rule}
	switch a := ev.GetAction(); {
	case (a == "command" || a == "sudo") && ev.GetUser() != "" && ev.GetTarget() != "":
		s.User, s.Shape = clip(ev.GetUser()), sh.Shape(ev.GetTarget())
	default:
		s.Host = clip(ev.GetHost())
		raw := ev.GetRaw()
		if len(raw) > 64<<10 {
			raw = raw[:64<<10]
		}
		s.Template = clip(strings.Join(template.Mask(raw, nil), " "))
	}
	return s
}

func ruleOf(detector, rule string) string { return detector + "/" + rule }

func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	return s[:maxField]
}

// Acceptance is one "not an issue": its scope, who, when, until when, and whether it
// was revoked.
type Acceptance struct {
	ID        string
	Scope     Scope
	Detector  string
	RuleID    string
	Entity    string
	AlertID   string
	By        string
	At        time.Time
	Expires   time.Time
	Reason    string
	RevokedBy string
	RevokedAt time.Time
	Revoked   bool
}

// Active reports whether a holds at now.
func (a *Acceptance) Active(now time.Time) bool { return !a.Revoked && now.Before(a.Expires) }

// State is "active", "expired" or "revoked" at now.
func (a *Acceptance) State(now time.Time) string {
	switch {
	case a.Revoked:
		return "revoked"
	case !now.Before(a.Expires):
		return "expired"
	}
	return "active"
}

// Set holds the acceptances read from the feedback topic. Safe for concurrent use.
type Set struct {
	mu      sync.Mutex
	sh      *Shaper
	byID    map[string]*Acceptance
	byKey   map[string][]*Acceptance
	revoked map[string]revocation // revocations of ids not (yet) seen
	log     *zap.Logger

	// OnRecord counts each record by kind (not_an_issue, acknowledged, revoked,
	// invalid); may be nil.
	OnRecord func(kind string)
}

type revocation struct {
	by, reason string
	at         time.Time
}

// NewSet returns an empty set.
func NewSet(log *zap.Logger) *Set {
	if log == nil {
		log = zap.NewNop()
	}
	return &Set{sh: NewShaper(), byID: map[string]*Acceptance{}, byKey: map[string][]*Acceptance{}, revoked: map[string]revocation{}, log: log}
}

// Decode reads a feedback record's value; it checks the lw-schema header when there is one.
func Decode(m kafkax.Message) (*logwardenpb.Feedback, error) {
	if h := m.Header(kafkax.HeaderSchema); h != "" && h != Schema {
		return nil, fmt.Errorf("not a %s record: lw-schema %q", Schema, clip(h))
	}
	fb := &logwardenpb.Feedback{}
	if err := proto.Unmarshal(m.Value, fb); err != nil {
		return nil, fmt.Errorf("invalid Feedback protobuf: %w", err)
	}
	if fb.GetId() == "" || len(fb.GetId()) > 64 {
		return nil, fmt.Errorf("feedback without a valid id")
	}
	return fb, nil
}

// Apply takes one record of the feedback topic (kafkax.Admin.Follow). A "not an issue"
// accepts its scope until it expires; a revocation withdraws the feedback it names;
// acknowledgements are only counted. Records are idempotent: the same id twice is one
// acceptance. A record that is not valid feedback is logged and skipped.
func (s *Set) Apply(m kafkax.Message) {
	if len(m.Value) == 0 {
		return
	}
	fb, err := Decode(m)
	if err == nil {
		err = s.ApplyFeedback(fb)
	}
	if err != nil {
		s.log.Warn("invalid feedback record skipped", zap.Stringer("record", m), zap.Error(err))
		s.count("invalid")
	}
}

// ApplyFeedback applies one decoded record (see Apply).
func (s *Set) ApplyFeedback(fb *logwardenpb.Feedback) error {
	switch fb.GetKind() {
	case logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE:
		if fb.GetRuleId() == "" || fb.GetEvent() == nil || fb.GetExpiresAt() == nil || fb.GetCreatedAt() == nil {
			return fmt.Errorf("not-an-issue %s without rule, event, creation or expiry", fb.GetId())
		}
		s.accept(fb)
		s.count("not_an_issue")
	case logwardenpb.FeedbackKind_FEEDBACK_KIND_REVOKED:
		if fb.GetRevokes() == "" {
			return fmt.Errorf("revocation %s names no feedback", fb.GetId())
		}
		s.revoke(fb.GetRevokes(), revocation{by: fb.GetCreatedBy(), reason: fb.GetReason(), at: fb.GetCreatedAt().AsTime()})
		s.count("revoked")
	case logwardenpb.FeedbackKind_FEEDBACK_KIND_ACKNOWLEDGED:
		s.count("acknowledged")
	default:
		return fmt.Errorf("feedback %s of unknown kind %d", fb.GetId(), fb.GetKind())
	}
	return nil
}

func (s *Set) count(kind string) {
	if s.OnRecord != nil {
		s.OnRecord(kind)
	}
}

func (s *Set) accept(fb *logwardenpb.Feedback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[fb.GetId()]; ok {
		return
	}
	a := &Acceptance{ID: fb.GetId(), Scope: scopeOf(s.sh, ruleOf(fb.GetDetector(), fb.GetRuleId()), fb.GetEvent()), AlertID: fb.GetAlertId(),
		Detector: fb.GetDetector(), RuleID: fb.GetRuleId(), Entity: fb.GetEntity(),
		By: fb.GetCreatedBy(), At: fb.GetCreatedAt().AsTime(), Expires: fb.GetExpiresAt().AsTime(), Reason: fb.GetReason()}
	if r, ok := s.revoked[a.ID]; ok {
		a.Revoked, a.RevokedBy, a.RevokedAt = true, r.by, r.at
		delete(s.revoked, a.ID)
	}
	s.byID[a.ID] = a
	k := a.Scope.Key()
	s.byKey[k] = append(s.byKey[k], a)
	s.log.Info("feedback: pattern accepted as not an issue", zap.String("feedback", a.ID), zap.String("scope", a.Scope.String()),
		zap.String("by", a.By), zap.Time("until", a.Expires), zap.Bool("revoked", a.Revoked), zap.String("alert", a.AlertID))
}

func (s *Set) revoke(id string, r revocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		if len(s.revoked) < 100000 {
			s.revoked[id] = r
		}
		return
	}
	if a.Revoked {
		return
	}
	a.Revoked, a.RevokedBy, a.RevokedAt = true, r.by, r.at
	s.log.Info("feedback: acceptance revoked", zap.String("feedback", id), zap.String("scope", a.Scope.String()), zap.String("by", r.by),
		zap.String("reason", r.reason))
}

// Accepted returns the acceptance active at now that covers alert a (its first
// finding's rule and its most recent evidence event), if any.
func (s *Set) Accepted(a *logwardenpb.Alert, now time.Time) (*Acceptance, bool) {
	fs, ev := a.GetFindings(), a.GetEvidence()
	if len(fs) == 0 || len(ev) == 0 {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) == 0 {
		return nil, false
	}
	list := s.byKey[scopeOf(s.sh, ruleOf(fs[0].GetDetector(), fs[0].GetRuleId()), ev[len(ev)-1]).Key()]
	for _, acc := range list {
		if acc.Active(now) {
			return acc, true
		}
	}
	return nil, false
}

// Active counts the acceptances that hold at now.
func (s *Set) Active(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.byID {
		if a.Active(now) {
			n++
		}
	}
	return n
}

// List returns every acceptance (copies), the newest first.
func (s *Set) List() []Acceptance {
	s.mu.Lock()
	out := make([]Acceptance, 0, len(s.byID))
	for _, a := range s.byID {
		out = append(out, *a)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Get returns the acceptance id (a copy).
func (s *Set) Get(id string) (Acceptance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.byID[id]
	if !ok {
		return Acceptance{}, false
	}
	return *a, true
}
