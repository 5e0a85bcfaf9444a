package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/logwarden/logwarden/services/slack-notifier/internal/render"
)

// Interaction is one checked button click.
type Interaction struct {
	Action    string // one of the render.Action* ids
	Ref       string // the message's ref (the button's value)
	UserID    string // who clicked (U…, W…)
	UserName  string // their handle, as Slack gave it (display only)
	ChannelID string // where the message is
	MessageTS string // the message
	ActionTS  string // when they clicked (Slack's timestamp)
	TeamID    string
}

// Why a payload is refused.
var (
	ErrPayload       = errors.New("not a block_actions payload of one button click")
	ErrUnknownAction = errors.New("unknown action id")
	ErrForged        = errors.New("values that the notifier did not make")
)

var (
	refRE     = regexp.MustCompile(`^[0-9a-f]{24}$`)
	userRE    = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)
	channelRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,20}$`)
	teamRE    = regexp.MustCompile(`^[TE][A-Z0-9]{2,20}$`)
	tsRE      = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)
)

// knownActions are the action ids of our buttons.
var knownActions = map[string]bool{render.ActionAcknowledge: true, render.ActionSilence1h: true,
	render.ActionSilence24h: true, render.ActionNotAnIssue: true}

// maxPayload bounds what is decoded (a block_actions payload of a message with its
// blocks is a few kB; Slack's own limit on messages is 40k characters).
const maxPayload = 256 << 10

// payload is the part of Slack's block_actions payload we read.
type payload struct {
	Type string `json:"type"`
	User struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Name     string `json:"name"`
	} `json:"user"`
	Team struct {
		ID string `json:"id"`
	} `json:"team"`
	Channel struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		Type      string `json:"type"`
		MessageTS string `json:"message_ts"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Actions []struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// DecodeInteraction reads an interactive envelope's payload and checks it is exactly a
// click on one of our buttons: type block_actions, one button action with a known
// action id, a value that is a ref (24 hex digits, nothing else) and the block id our
// renderer gives that ref, a user, channel and message in Slack's id formats, and the
// container agreeing with the channel. Anything else is an error wrapping ErrPayload,
// ErrUnknownAction or ErrForged; no input makes it panic.
func DecodeInteraction(b []byte) (Interaction, error) {
	if len(b) > maxPayload {
		return Interaction{}, fmt.Errorf("%w: %d bytes", ErrPayload, len(b))
	}
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return Interaction{}, fmt.Errorf("%w: %v", ErrPayload, err)
	}
	if p.Type != "block_actions" {
		return Interaction{}, fmt.Errorf("%w: type %s", ErrPayload, quote(p.Type))
	}
	if len(p.Actions) != 1 {
		return Interaction{}, fmt.Errorf("%w: %d actions", ErrPayload, len(p.Actions))
	}
	a := p.Actions[0]
	if !knownActions[a.ActionID] {
		return Interaction{}, fmt.Errorf("%w: %s", ErrUnknownAction, quote(a.ActionID))
	}
	if a.Type != "button" {
		return Interaction{}, fmt.Errorf("%w: %s is a %s, not a button", ErrForged, a.ActionID, quote(a.Type))
	}
	if !refRE.MatchString(a.Value) || a.BlockID != render.ActionsBlockID(a.Value) {
		return Interaction{}, fmt.Errorf("%w: value %s, block_id %s", ErrForged, quote(a.Value), quote(a.BlockID))
	}
	ch := p.Container.ChannelID
	if ch == "" {
		ch = p.Channel.ID
	}
	switch {
	case !userRE.MatchString(p.User.ID):
		return Interaction{}, fmt.Errorf("%w: user %s", ErrForged, quote(p.User.ID))
	case p.Container.Type != "message" || !channelRE.MatchString(ch) || (p.Channel.ID != "" && p.Channel.ID != ch):
		return Interaction{}, fmt.Errorf("%w: container %s in channel %s / %s", ErrForged, quote(p.Container.Type), quote(ch), quote(p.Channel.ID))
	case !tsRE.MatchString(p.Container.MessageTS):
		return Interaction{}, fmt.Errorf("%w: message_ts %s", ErrForged, quote(p.Container.MessageTS))
	case a.ActionTS != "" && !tsRE.MatchString(a.ActionTS):
		return Interaction{}, fmt.Errorf("%w: action_ts %s", ErrForged, quote(a.ActionTS))
	case p.Team.ID != "" && !teamRE.MatchString(p.Team.ID):
		return Interaction{}, fmt.Errorf("%w: team %s", ErrForged, quote(p.Team.ID))
	}
	name := p.User.Username
	if name == "" {
		name = p.User.Name
	}
	return Interaction{Action: a.ActionID, Ref: a.Value, UserID: p.User.ID, UserName: render.ClipRunes(render.Sanitize(name), 80),
		ChannelID: ch, MessageTS: p.Container.MessageTS, ActionTS: a.ActionTS, TeamID: p.Team.ID}, nil
}

// quote shows an untrusted value in an error: sanitized, cut, quoted.
func quote(s string) string {
	return fmt.Sprintf("%q", render.ClipRunes(render.Sanitize(s), 60))
}
