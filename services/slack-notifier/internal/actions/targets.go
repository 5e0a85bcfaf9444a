package actions

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// TargetSchema is the lw-schema header of an action target record.
var TargetSchema = string((&logwardenpb.ActionTarget{}).ProtoReflect().Descriptor().FullName())

// MaxTargets bounds the targets held in memory; the oldest go first (their buttons then
// answer "unknown alert").
const MaxTargets = 100000

// TopicSpec is the spec of the action targets topic: a compacted table keyed by ref
// whose records older than maxAge are deleted (compact,delete), one partition.
func TopicSpec(name string, maxAge time.Duration) kafkax.TopicSpec {
	return kafkax.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: 1, Compact: true, Retention: maxAge}
}

// Writer writes records (kafkax.Writer).
type Writer interface {
	Write(ctx context.Context, msgs ...kafkax.Message) error
}

// Targets is the table of what posted messages' buttons act on, kept in step with the
// targets topic (Apply, from kafkax.Admin.Follow) and written by the bot when it posts
// (Register) and by the click handler (mark). OnChange, when set, hears of every change
// of a target's marks (the owner of its group re-renders the message).
type Targets struct {
	topic  string
	w      Writer
	clk    clock.Clock
	maxAge time.Duration
	log    *zap.Logger

	mu    sync.RWMutex
	byRef map[string]*list.Element // of *logwardenpb.ActionTarget, oldest first
	order *list.List

	// OnChange is called (outside the lock) when a target's marks changed.
	OnChange func(group, ref string)
	// Invalid counts records that are not valid targets (skipped); may be nil.
	Invalid func()
}

// NewTargets returns an empty table of topic; targets posted more than maxAge ago are
// stale.
func NewTargets(topic string, w Writer, maxAge time.Duration, clk clock.Clock, log *zap.Logger) *Targets {
	if log == nil {
		log = zap.NewNop()
	}
	return &Targets{topic: topic, w: w, clk: clock.OrReal(clk), maxAge: maxAge, log: log, byRef: map[string]*list.Element{}, order: list.New()}
}

// Topic is the targets topic.
func (t *Targets) Topic() string { return t.topic }

// Get returns the target ref (a copy: callers may change it).
func (t *Targets) Get(ref string) (*logwardenpb.ActionTarget, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.byRef[ref]
	if !ok {
		return nil, false
	}
	return proto.Clone(e.Value.(*logwardenpb.ActionTarget)).(*logwardenpb.ActionTarget), true
}

// Len is the number of targets held.
func (t *Targets) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byRef)
}

// Marks is what people did with the message ref (sink.Targets).
func (t *Targets) Marks(ref string) *notify.Actions {
	t.mu.RLock()
	defer t.mu.RUnlock()
	a := &notify.Actions{}
	if e, ok := t.byRef[ref]; ok {
		tg := e.Value.(*logwardenpb.ActionTarget)
		a.Acknowledged, a.Silenced, a.NotAnIssue = mark(tg.GetAcknowledged()), mark(tg.GetSilenced()), mark(tg.GetNotAnIssue())
	}
	return a
}

func mark(m *logwardenpb.ActionMark) *notify.Mark {
	if m == nil {
		return nil
	}
	n := &notify.Mark{UserID: m.GetUserId(), By: m.GetBy(), At: m.GetAt().AsTime(), Severity: m.GetSeverity()}
	if m.GetUntil() != nil {
		n.Until = m.GetUntil().AsTime()
	}
	return n
}

// Acknowledged tells whether the message ref was acknowledged, and at which severity
// (deliver.Acks).
func (t *Targets) Acknowledged(ref string) (logwardenpb.Severity, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.byRef[ref]
	if !ok {
		return 0, false
	}
	m := e.Value.(*logwardenpb.ActionTarget).GetAcknowledged()
	if m == nil {
		return 0, false
	}
	return m.GetSeverity(), true
}

// Register records a message the bot posted (sink.Targets): what its buttons act on.
// The alert is kept with its most recent evidence event only. Registering a ref again
// (its message was posted anew) keeps what people did with it.
func (t *Targets) Register(ctx context.Context, ref, group string, a *logwardenpb.Alert, channel, ts string) error {
	al := proto.Clone(a).(*logwardenpb.Alert)
	if ev := al.GetEvidence(); len(ev) > 1 {
		al.Evidence = ev[len(ev)-1:]
	}
	tg := &logwardenpb.ActionTarget{Ref: ref, Group: group, Alert: al, Channel: channel, Ts: ts, PostedAt: timestamppb.New(t.clk.Now())}
	if old, ok := t.Get(ref); ok {
		tg.Acknowledged, tg.Silenced, tg.NotAnIssue = old.GetAcknowledged(), old.GetSilenced(), old.GetNotAnIssue()
	}
	return t.put(ctx, tg)
}

// Escalate records that the group of message ref now has an alert more severe than the
// one its target holds (sink.Targets): an acknowledgement at the old severity no longer
// holds its repeats, and the message offers Acknowledge again.
func (t *Targets) Escalate(ctx context.Context, ref string, a *logwardenpb.Alert) error {
	tg, ok := t.Get(ref)
	if !ok || a.GetSeverity() <= tg.GetAlert().GetSeverity() {
		return nil
	}
	al := proto.Clone(a).(*logwardenpb.Alert)
	if ev := al.GetEvidence(); len(ev) > 1 {
		al.Evidence = ev[len(ev)-1:]
	}
	tg.Alert = al
	return t.put(ctx, tg)
}

// put writes tg and applies it at once.
func (t *Targets) put(ctx context.Context, tg *logwardenpb.ActionTarget) error {
	m, err := kafkax.NewProtoMessage(t.topic, tg.GetRef(), tg.GetRef(), tg)
	if err != nil {
		return err
	}
	if err := t.w.Write(ctx, m); err != nil {
		return fmt.Errorf("write action target %s to %s: %w", tg.GetRef(), t.topic, err)
	}
	t.apply(tg)
	return nil
}

// Apply takes one record of the topic (kafkax.Admin.Follow). A tombstone removes its
// ref; a record that is not a valid target is logged and skipped.
func (t *Targets) Apply(m kafkax.Message) {
	if len(m.Value) == 0 {
		t.mu.Lock()
		if e, ok := t.byRef[string(m.Key)]; ok {
			t.order.Remove(e)
			delete(t.byRef, string(m.Key))
		}
		t.mu.Unlock()
		return
	}
	tg := &logwardenpb.ActionTarget{}
	err := proto.Unmarshal(m.Value, tg)
	switch {
	case err != nil:
	case m.Header(kafkax.HeaderSchema) != "" && m.Header(kafkax.HeaderSchema) != TargetSchema:
		err = fmt.Errorf("lw-schema %s", quote(m.Header(kafkax.HeaderSchema)))
	case !refRE.MatchString(tg.GetRef()) || string(m.Key) != tg.GetRef():
		err = fmt.Errorf("ref %s under key %s", quote(tg.GetRef()), quote(string(m.Key)))
	case tg.GetAlert() == nil || tg.GetGroup() == "" || tg.GetPostedAt() == nil:
		err = fmt.Errorf("target %s without alert, group or posting time", tg.GetRef())
	}
	if err != nil {
		t.log.Warn("invalid action target record skipped", zap.Stringer("record", m), zap.Error(err))
		if t.Invalid != nil {
			t.Invalid()
		}
		return
	}
	t.apply(tg)
}

// apply puts tg in the table and tells OnChange when its marks changed.
func (t *Targets) apply(tg *logwardenpb.ActionTarget) {
	t.mu.Lock()
	changed := false
	if e, ok := t.byRef[tg.GetRef()]; ok {
		old := e.Value.(*logwardenpb.ActionTarget)
		changed = !proto.Equal(old.GetAcknowledged(), tg.GetAcknowledged()) || !proto.Equal(old.GetSilenced(), tg.GetSilenced()) ||
			!proto.Equal(old.GetNotAnIssue(), tg.GetNotAnIssue())
		e.Value = tg
	} else {
		t.byRef[tg.GetRef()] = t.order.PushBack(tg)
		for t.order.Len() > MaxTargets {
			f := t.order.Front()
			t.order.Remove(f)
			delete(t.byRef, f.Value.(*logwardenpb.ActionTarget).GetRef())
		}
	}
	t.mu.Unlock()
	if changed && t.OnChange != nil {
		t.OnChange(tg.GetGroup(), tg.GetRef())
	}
}

// Stale reports whether tg was posted more than the max age ago.
func (t *Targets) Stale(tg *logwardenpb.ActionTarget) bool {
	return t.maxAge > 0 && t.clk.Now().Sub(tg.GetPostedAt().AsTime()) > t.maxAge
}
