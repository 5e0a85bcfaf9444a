package actions

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/clock"
)

// Socket receives interactions over Slack Socket Mode (an outbound WebSocket opened with
// the app-level token: no public endpoint) and hands them to a Handler. Every envelope
// is acknowledged at once (Slack wants it within 3 s, and redelivers otherwise), the
// ones it cannot read included.
type Socket struct {
	api   *slack.Client // with the app-level token (and the Web API URL)
	h     *Handler
	clk   clock.Clock
	delay time.Duration
	log   *zap.Logger
	// Connected, when set, is called on every (re)connection (tests, readiness).
	Connected func()
}

// NewSocket connects through api, which must carry the app-level token
// (slack.OptionAppLevelToken).
func NewSocket(api *slack.Client, h *Handler, clk clock.Clock, log *zap.Logger) *Socket {
	if log == nil {
		log = zap.NewNop()
	}
	return &Socket{api: api, h: h, clk: clock.OrReal(clk), delay: 5 * time.Second, log: log}
}

// Run keeps a Socket Mode connection until ctx ends; when slack-go gives up (an
// invalid or revoked token) it logs why and tries again after a pause.
func (s *Socket) Run(ctx context.Context) error {
	for {
		err := s.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Error("Slack Socket Mode stopped; reconnecting (buttons do nothing meanwhile)", zap.Duration("in", s.delay), zap.Error(err))
		if clock.Sleep(ctx, s.clk, s.delay) != nil {
			return nil
		}
	}
}

func (s *Socket) runOnce(ctx context.Context) error {
	client := socketmode.New(s.api, socketmode.OptionLog(zap.NewStdLog(s.log)), socketmode.OptionReadLimit(2<<20))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.RunContext(rctx) }() // owned here: awaited below
	for {
		select {
		case err := <-done:
			return err
		case evt := <-client.Events:
			s.event(ctx, client, evt)
		}
	}
}

// event handles one event of the client. Handling stops taking new clicks until it is
// done; events wait in the client's buffer meanwhile.
func (s *Socket) event(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		s.log.Info("Slack Socket Mode connected")
		if s.Connected != nil {
			s.Connected()
		}
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			s.log.Warn("Slack Socket Mode cannot connect; retrying", zap.Int("attempt", e.Attempt), zap.Duration("backoff", e.Backoff),
				zap.String("error", noQuery(e.Error())))
		}
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			s.log.Warn("Slack Socket Mode read error", zap.String("error", noQuery(e.Error())))
		}
	case socketmode.EventTypeInvalidAuth:
		s.log.Error("Slack refused the app-level token (slack.app_token)")
	case socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		s.ack(ctx, client, evt.Request.EnvelopeID)
		s.h.Handle(ctx, evt.Request.EnvelopeID, evt.Request.Payload)
	case socketmode.EventTypeErrorBadMessage:
		// An envelope slack-go could not read (an interactive payload of an unexpected
		// shape, say): acknowledge it so Slack does not send it again, and say so.
		var env struct {
			EnvelopeID string `json:"envelope_id"`
			Type       string `json:"type"`
		}
		if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			_ = json.Unmarshal(bad.Message, &env)
			s.log.Warn("Slack Socket Mode envelope refused: unreadable", zap.String("type", quote(env.Type)), zap.Error(bad.Cause))
		}
		s.h.count("unknown", "invalid")
		if env.EnvelopeID != "" {
			s.ack(ctx, client, env.EnvelopeID)
		}
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
		if evt.Request != nil { // not subscribed to; acknowledged and ignored
			s.ack(ctx, client, evt.Request.EnvelopeID)
		}
	}
}

// queryRE is a URL's query: the WebSocket URL's carries a connection ticket.
var queryRE = regexp.MustCompile(`\?[^\s"']*`)

// noQuery is an error text without URL queries.
func noQuery(s string) string { return queryRE.ReplaceAllString(s, "?[redacted]") }

func (s *Socket) ack(ctx context.Context, client *socketmode.Client, envelopeID string) {
	if envelopeID == "" {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.AckCtx(actx, envelopeID, nil); err != nil {
		s.log.Warn("acknowledging a Socket Mode envelope failed", zap.Error(err))
	}
}
