package actions

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/logwarden/logwarden/pkg/clock"
)

// Conversations lists a channel's members (slack-go's *slack.Client, scope
// channels:read / groups:read).
type Conversations interface {
	GetUsersInConversationContext(ctx context.Context, params *slack.GetUsersInConversationParameters) ([]string, string, error)
}

// maxMemberPages bounds one membership lookup (200 members a page).
const maxMemberPages = 100

// Members decides who may act: with an allow-list, exactly those user ids; without,
// the members of the channel the message is in (conversations.members, remembered for
// ttl per channel).
type Members struct {
	api   Conversations
	allow map[string]bool
	ttl   time.Duration
	clk   clock.Clock

	mu    sync.Mutex
	cache map[string]memberList
}

type memberList struct {
	users map[string]bool
	at    time.Time
}

// NewMembers checks membership through api, or only against allow when it is not empty.
func NewMembers(api Conversations, allow []string, ttl time.Duration, clk clock.Clock) *Members {
	m := &Members{api: api, ttl: ttl, clk: clock.OrReal(clk), cache: map[string]memberList{}}
	if len(allow) > 0 {
		m.allow = map[string]bool{}
		for _, u := range allow {
			m.allow[u] = true
		}
	}
	return m
}

// Allowed reports whether user may act on a message in channel.
func (m *Members) Allowed(ctx context.Context, user, channel string) (bool, error) {
	if m.allow != nil {
		return m.allow[user], nil
	}
	now := m.clk.Now()
	m.mu.Lock()
	l, ok := m.cache[channel]
	m.mu.Unlock()
	if !ok || now.Sub(l.at) >= m.ttl || (!l.users[user] && now.Sub(l.at) >= time.Second) {
		// Refresh when old, and when a user is missing (they may just have joined),
		// at most once a second.
		users, err := m.list(ctx, channel)
		if err != nil {
			return false, err
		}
		l = memberList{users: users, at: now}
		m.mu.Lock()
		m.cache[channel] = l
		m.mu.Unlock()
	}
	return l.users[user], nil
}

func (m *Members) list(ctx context.Context, channel string) (map[string]bool, error) {
	users := map[string]bool{}
	cursor := ""
	for range maxMemberPages {
		page, next, err := m.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channel, Cursor: cursor, Limit: 200})
		if err != nil {
			return nil, fmt.Errorf("conversations.members of %s: %w", channel, err)
		}
		for _, u := range page {
			users[u] = true
		}
		if next == "" {
			return users, nil
		}
		cursor = next
	}
	return users, nil
}
