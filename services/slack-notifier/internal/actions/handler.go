package actions

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/silence"
)

// Silences is where Silence buttons put their silences (silence.Store).
type Silences interface {
	Add(ctx context.Context, s *silence.Silence) error
	Equivalent(s *silence.Silence, now time.Time) *silence.Silence
}

// Chat is the part of Slack's Web API the handler speaks (slack-go's *slack.Client,
// bot token, scope chat:write).
type Chat interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
}

// Options configure a Handler.
type Options struct {
	Targets  *Targets
	Silences Silences
	// Feedback receives the "not an issue" and acknowledgement records.
	Feedback      Writer
	FeedbackTopic string
	Chat          Chat
	Members       *Members
	// NotAnIssueFor is how long the classifier accepts a pattern marked not an issue.
	NotAnIssueFor time.Duration
	Clock         clock.Clock
	Log           *zap.Logger
	Metrics       *Metrics
}

// Metrics count clicks by action and outcome.
type Metrics struct {
	Actions *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{Actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "logwarden_slack_actions_total",
		Help: "Button clicks by action (acknowledge, silence_1h, silence_24h, not_an_issue, unknown) and outcome (ok, already, refused, unknown_alert, stale, mismatch, invalid, replay, failed)."},
		[]string{"action", "outcome"})}
	if reg != nil {
		reg.MustRegister(m.Actions)
	}
	return m
}

// Handler acts on clicks. Handle is called by one goroutine at a time (the socket's).
type Handler struct {
	o Options

	mu    sync.Mutex
	seen  map[string]*list.Element // envelope ids and clicks already handled
	order *list.List
}

// maxSeen bounds the replay memory.
const maxSeen = 10000

// NewHandler builds a handler.
func NewHandler(o Options) *Handler {
	o.Clock = clock.OrReal(o.Clock)
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.NotAnIssueFor <= 0 {
		o.NotAnIssueFor = 30 * 24 * time.Hour
	}
	return &Handler{o: o, seen: map[string]*list.Element{}, order: list.New()}
}

// names of the actions in logs and metrics.
var actionNames = map[string]string{render.ActionAcknowledge: "acknowledge", render.ActionSilence1h: "silence_1h",
	render.ActionSilence24h: "silence_24h", render.ActionNotAnIssue: "not_an_issue"}

// replayed remembers key and reports whether it was seen before.
func (h *Handler) replayed(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.seen[key]; ok {
		h.order.MoveToFront(e)
		return true
	}
	h.seen[key] = h.order.PushFront(key)
	for h.order.Len() > maxSeen {
		e := h.order.Back()
		h.order.Remove(e)
		delete(h.seen, e.Value.(string))
	}
	return false
}

// Handle acts on one interactive envelope (already acknowledged to Slack). It never
// fails: every outcome is logged, counted and, where a person should know, answered.
func (h *Handler) Handle(ctx context.Context, envelopeID string, payload []byte) {
	log := h.o.Log.With(zap.String("envelope", render.ClipRunes(render.Sanitize(envelopeID), 64)))
	if envelopeID != "" && h.replayed("envelope:"+envelopeID) {
		h.count("unknown", "replay")
		log.Info("slack action: envelope delivered again; ignored")
		return
	}
	in, err := DecodeInteraction(payload)
	if err != nil {
		action := "unknown"
		h.count(action, "invalid")
		log.Warn("slack action refused: invalid interaction payload", zap.Error(err))
		return
	}
	action := actionNames[in.Action]
	log = log.With(zap.String("action", action), zap.String("user", in.UserID), zap.String("user_name", in.UserName),
		zap.String("channel", in.ChannelID), zap.String("ref", in.Ref))
	if h.replayed("click:" + in.Ref + "/" + in.Action + "/" + in.UserID + "/" + in.ActionTS) {
		h.count(action, "replay")
		log.Info("slack action: the same click again; ignored")
		return
	}
	tg, ok := h.o.Targets.Get(in.Ref)
	if !ok {
		h.count(action, "unknown_alert")
		log.Warn("slack action refused: no such alert message (older than the actions' max age, or never recorded)")
		h.ephemeral(ctx, in, "This alert is not known to logwarden any more (too old, or its record was lost). Use `slack-notifier silence add` to silence it.")
		return
	}
	log = log.With(zap.String("alert", tg.GetAlert().GetId()), zap.String("group", tg.GetGroup()))
	if tg.GetChannel() != in.ChannelID || tg.GetTs() != in.MessageTS {
		h.count(action, "mismatch")
		log.Warn("slack action refused: the button's ref belongs to another message", zap.String("message_ts", in.MessageTS),
			zap.String("target_channel", tg.GetChannel()), zap.String("target_ts", tg.GetTs()))
		return
	}
	if h.o.Targets.Stale(tg) {
		h.count(action, "stale")
		log.Warn("slack action refused: the message is older than the actions' max age")
		h.ephemeral(ctx, in, "This alert is too old to act on from its message. Use `slack-notifier silence add` to silence it.")
		return
	}
	ok, err = h.o.Members.Allowed(ctx, in.UserID, tg.GetChannel())
	if err != nil {
		h.count(action, "failed")
		log.Error("slack action not done: membership check failed", zap.Error(err))
		h.ephemeral(ctx, in, "logwarden could not check that you may act on this alert; try again in a moment.")
		return
	}
	if !ok {
		h.count(action, "refused")
		log.Warn("slack action refused: the user may not act on this channel's alerts")
		h.ephemeral(ctx, in, fmt.Sprintf("Only members of <#%s> (or the users logwarden allows) can act on its alerts.", tg.GetChannel()))
		return
	}
	m := &logwardenpb.ActionMark{By: by(in), UserId: in.UserID, At: timestamppb.New(h.o.Clock.Now())}
	var outcome string
	switch in.Action {
	case render.ActionAcknowledge:
		outcome, err = h.acknowledge(ctx, in, tg, m, log)
	case render.ActionSilence1h:
		outcome, err = h.silence(ctx, in, tg, m, time.Hour, log)
	case render.ActionSilence24h:
		outcome, err = h.silence(ctx, in, tg, m, 24*time.Hour, log)
	case render.ActionNotAnIssue:
		outcome, err = h.notAnIssue(ctx, in, tg, m, log)
	}
	if err != nil {
		h.count(action, "failed")
		log.Error("slack action failed", zap.Error(err))
		h.ephemeral(ctx, in, "logwarden could not record that; try again in a moment.")
		return
	}
	h.count(action, outcome)
}

// by names a Slack user in records: "@handle (U…)".
func by(in Interaction) string {
	if in.UserName == "" {
		return in.UserID
	}
	return "@" + in.UserName + " (" + in.UserID + ")"
}

func (h *Handler) acknowledge(ctx context.Context, in Interaction, tg *logwardenpb.ActionTarget, m *logwardenpb.ActionMark, log *zap.Logger) (string, error) {
	if a := tg.GetAcknowledged(); a != nil && a.GetSeverity() >= tg.GetAlert().GetSeverity() {
		log.Info("slack action: already acknowledged", zap.String("by", a.GetBy()))
		h.ephemeral(ctx, in, fmt.Sprintf("Already acknowledged by %s.", render.Who(mark(a))))
		return "already", nil
	}
	m.Severity = tg.GetAlert().GetSeverity()
	fb := feedbackRecord(logwardenpb.FeedbackKind_FEEDBACK_KIND_ACKNOWLEDGED, tg, m, time.Time{})
	if err := h.writeFeedback(ctx, fb); err != nil {
		return "", err
	}
	tg.Acknowledged = m
	if err := h.o.Targets.put(ctx, tg); err != nil {
		return "", err
	}
	log.Info("slack action: alert acknowledged", zap.String("feedback", fb.GetId()))
	h.reply(ctx, tg, render.ReplyAcknowledged(render.Who(mark(m)), m.GetAt().AsTime()), log)
	return "ok", nil
}

func (h *Handler) silence(ctx context.Context, in Interaction, tg *logwardenpb.ActionTarget, m *logwardenpb.ActionMark, d time.Duration, log *zap.Logger) (string, error) {
	now := m.GetAt().AsTime()
	l := silence.LabelsOf(tg.GetAlert())
	s := &silence.Silence{ID: silence.NewID(), StartsAt: now, EndsAt: now.Add(d), UpdatedAt: now, CreatedBy: m.GetBy(),
		Comment: fmt.Sprintf("Silence %s button on alert %s", d, tg.GetAlert().GetId()), AlertID: tg.GetAlert().GetId(),
		SlackChannel: tg.GetChannel(), SlackTS: tg.GetTs()}
	for _, name := range []string{silence.LabelRule, silence.LabelEntity} {
		if v := l.Get(name); v != "" {
			mt, err := silence.NewMatcher(name, v, false, true)
			if err != nil {
				return "", err
			}
			s.Matchers = append(s.Matchers, mt)
		}
	}
	if len(s.Matchers) == 0 {
		log.Warn("slack action refused: the alert has neither rule nor entity to silence")
		h.ephemeral(ctx, in, "This alert has no rule or entity to silence; use `slack-notifier silence add`.")
		return "refused", nil
	}
	if e := h.o.Silences.Equivalent(s, now); e != nil {
		log.Info("slack action: already silenced", zap.String("silence", e.ID))
		h.ephemeral(ctx, in, fmt.Sprintf("Already silenced until %s by %s (silence %s).",
			e.EndsAt.UTC().Format("2006-01-02 15:04:05Z"), render.Code(e.CreatedBy, 100), render.Code(e.ID, 40)))
		return "already", nil
	}
	if err := h.o.Silences.Add(ctx, s); err != nil {
		return "", err
	}
	m.Until, m.Id = timestamppb.New(s.EndsAt), s.ID
	tg.Silenced = m
	if err := h.o.Targets.put(ctx, tg); err != nil {
		log.Warn("the silence holds, but the message will not show it", zap.Error(err))
	}
	log.Info("slack action: silence made", zap.String("silence", s.ID), zap.String("matchers", s.MatchersString()), zap.Time("until", s.EndsAt))
	h.reply(ctx, tg, render.ReplySilenced(render.Who(mark(m)), s.MatchersString(), s.ID, s.EndsAt), log)
	return "ok", nil
}

func (h *Handler) notAnIssue(ctx context.Context, in Interaction, tg *logwardenpb.ActionTarget, m *logwardenpb.ActionMark, log *zap.Logger) (string, error) {
	if a := tg.GetNotAnIssue(); a != nil {
		log.Info("slack action: already marked not an issue", zap.String("by", a.GetBy()))
		h.ephemeral(ctx, in, fmt.Sprintf("Already marked not an issue by %s.", render.Who(mark(a))))
		return "already", nil
	}
	until := m.GetAt().AsTime().Add(h.o.NotAnIssueFor)
	fb := feedbackRecord(logwardenpb.FeedbackKind_FEEDBACK_KIND_NOT_AN_ISSUE, tg, m, until)
	if err := h.writeFeedback(ctx, fb); err != nil {
		return "", err
	}
	m.Until, m.Id = timestamppb.New(until), fb.GetId()
	tg.NotAnIssue = m
	if err := h.o.Targets.put(ctx, tg); err != nil {
		log.Warn("the feedback is recorded, but the message will not show it", zap.Error(err))
	}
	log.Info("slack action: marked not an issue", zap.String("feedback", fb.GetId()), zap.Time("until", until))
	h.reply(ctx, tg, render.ReplyNotAnIssue(render.Who(mark(m)), fb.GetId(), until), log)
	return "ok", nil
}

// feedbackRecord is the feedback of kind about tg's alert: its rule, entity and most
// recent evidence event, who and when. A "not an issue" of one message always gets the
// same id (a redelivery or a second click is one record to the classifier).
func feedbackRecord(kind logwardenpb.FeedbackKind, tg *logwardenpb.ActionTarget, m *logwardenpb.ActionMark, expires time.Time) *logwardenpb.Feedback {
	a := tg.GetAlert()
	idSrc := tg.GetRef() + "/" + kind.String()
	if kind == logwardenpb.FeedbackKind_FEEDBACK_KIND_ACKNOWLEDGED {
		idSrc += "/" + m.GetUserId() + "/" + m.GetAt().AsTime().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(idSrc))
	fb := &logwardenpb.Feedback{Id: hex.EncodeToString(sum[:8]), Kind: kind, AlertId: a.GetId(), Fingerprint: a.GetFingerprint(),
		Entity: a.GetEntity(), CreatedBy: m.GetBy(), CreatedAt: m.GetAt(), Reason: "Slack button on alert " + a.GetId()}
	if fs := a.GetFindings(); len(fs) > 0 {
		fb.Detector, fb.RuleId = fs[0].GetDetector(), fs[0].GetRuleId()
	}
	if ev := a.GetEvidence(); len(ev) > 0 {
		fb.Event = ev[len(ev)-1]
	}
	if !expires.IsZero() {
		fb.ExpiresAt = timestamppb.New(expires)
	}
	return fb
}

// FeedbackKey is the key of a feedback record: rule id + "/" + entity.
func FeedbackKey(fb *logwardenpb.Feedback) string { return fb.GetRuleId() + "/" + fb.GetEntity() }

func (h *Handler) writeFeedback(ctx context.Context, fb *logwardenpb.Feedback) error {
	msg, err := kafkax.NewProtoMessage(h.o.FeedbackTopic, FeedbackKey(fb), fb.GetId(), fb)
	if err != nil {
		return err
	}
	if err := h.o.Feedback.Write(ctx, msg); err != nil {
		return fmt.Errorf("write feedback %s to %s: %w", fb.GetId(), h.o.FeedbackTopic, err)
	}
	return nil
}

// reply posts text in the message's thread: every action is visible there.
func (h *Handler) reply(ctx context.Context, tg *logwardenpb.ActionTarget, text string, log *zap.Logger) {
	if _, _, err := h.o.Chat.PostMessageContext(ctx, tg.GetChannel(), slack.MsgOptionText(text, false), slack.MsgOptionTS(tg.GetTs())); err != nil {
		log.Warn("thread reply about an action failed", zap.Error(err))
	}
}

// ephemeral tells only the clicking user.
func (h *Handler) ephemeral(ctx context.Context, in Interaction, text string) {
	if _, err := h.o.Chat.PostEphemeralContext(ctx, in.ChannelID, in.UserID, slack.MsgOptionText(text, false)); err != nil {
		h.o.Log.Warn("ephemeral answer to a click failed", zap.String("user", in.UserID), zap.Error(err))
	}
}

func (h *Handler) count(action, outcome string) {
	h.o.Metrics.Actions.WithLabelValues(action, outcome).Inc()
}
