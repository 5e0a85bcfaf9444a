package slacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// pingEvery is how often the server pings a Socket Mode client (Slack pings too: a
// client that hears nothing for its ping interval reconnects).
const pingEvery = time.Second

type socketState struct {
	conns     []*socketConn
	connected chan struct{} // closed and replaced on every new connection
	closed    bool
}

type socketConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex // one writer at a time
	mu   sync.Mutex
	acks map[string]chan json.RawMessage // envelope id → its acknowledgement's payload
	done chan struct{}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveSocket is the Socket Mode WebSocket: hello, pings, envelopes out, acks in.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, acks: map[string]chan json.RawMessage{}, done: make(chan struct{})}
	s.mu.Lock()
	if s.socket.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.socket.conns = append(s.socket.conns, c)
	if s.socket.connected != nil {
		close(s.socket.connected)
		s.socket.connected = nil
	}
	s.mu.Unlock()
	defer func() {
		close(c.done)
		_ = ws.Close()
		s.mu.Lock()
		for i, o := range s.socket.conns {
			if o == c {
				s.socket.conns = append(s.socket.conns[:i:i], s.socket.conns[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}()
	if c.write(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]string{"app_id": "A0LOCAL"},
		"debug_info": map[string]any{"host": "slacktest", "approximate_connection_time": 3600}}) != nil {
		return
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by this handler: stops when the read loop ends
		defer wg.Done()
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(msg, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		c.mu.Lock()
		ch := c.acks[ack.EnvelopeID]
		delete(c.acks, ack.EnvelopeID)
		c.mu.Unlock()
		if ch != nil {
			ch <- ack.Payload
		}
	}
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *socketConn) writeRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (s *Server) closeSockets() {
	s.mu.Lock()
	s.socket.closed = true
	conns := append([]*socketConn(nil), s.socket.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
		<-c.done
	}
}

// WaitConnected waits until a Socket Mode client is connected.
func (s *Server) WaitConnected(ctx context.Context) error {
	for {
		s.mu.Lock()
		if len(s.socket.conns) > 0 {
			s.mu.Unlock()
			return nil
		}
		if s.socket.connected == nil {
			s.socket.connected = make(chan struct{})
		}
		ch := s.socket.connected
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("no Socket Mode client connected: %w", ctx.Err())
		}
	}
}

// latest is the most recent live connection.
func (s *Server) latest(ctx context.Context) (*socketConn, error) {
	if err := s.WaitConnected(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.socket.conns) == 0 {
		return nil, errors.New("the Socket Mode client went away")
	}
	return s.socket.conns[len(s.socket.conns)-1], nil
}

// NewEnvelopeID is a random envelope id, as Slack makes them.
func NewEnvelopeID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Envelope sends one Socket Mode envelope of the given type with payload and waits
// for the client to acknowledge it; it returns the acknowledgement's payload (if any).
// retry is the retry_attempt Slack would set on a redelivery.
func (s *Server) Envelope(ctx context.Context, envelopeID, typ string, payload any, retry int) (json.RawMessage, error) {
	c, err := s.latest(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan json.RawMessage, 1)
	c.mu.Lock()
	c.acks[envelopeID] = ch
	c.mu.Unlock()
	env := map[string]any{"envelope_id": envelopeID, "type": typ, "payload": payload, "accepts_response_payload": false}
	if retry > 0 {
		env["retry_attempt"], env["retry_reason"] = retry, "timeout"
	}
	if err := c.write(env); err != nil {
		return nil, fmt.Errorf("send envelope: %w", err)
	}
	select {
	case p := <-ch:
		return p, nil
	case <-c.done:
		return nil, errors.New("the Socket Mode client went away before acknowledging")
	case <-ctx.Done():
		return nil, fmt.Errorf("envelope %s not acknowledged: %w", envelopeID, ctx.Err())
	}
}

// SendRaw writes one WebSocket text frame as it is (garbage, envelopes without ids).
func (s *Server) SendRaw(ctx context.Context, frame []byte) error {
	c, err := s.latest(ctx)
	if err != nil {
		return err
	}
	return c.writeRaw(frame)
}

// Click is a person pressing a button of a message, as Slack reports it.
type Click struct {
	UserID, UserName string
	ChannelID        string
	MessageTS        string
	ActionID         string
	BlockID          string
	Value            string
	ActionTS         string // "" : now
}

// Payload is the block_actions payload Slack sends for c (the fields Slack documents
// for a button in a message; the message itself is left out).
func (c Click) Payload() map[string]any {
	ats := c.ActionTS
	if ats == "" {
		now := time.Now()
		ats = fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
	}
	return map[string]any{
		"type":         "block_actions",
		"api_app_id":   "A0LOCAL",
		"token":        "verification-token-unused",
		"trigger_id":   "1.2.3",
		"team":         map[string]string{"id": "T0LOCAL", "domain": "local"},
		"user":         map[string]string{"id": c.UserID, "username": c.UserName, "name": c.UserName, "team_id": "T0LOCAL"},
		"channel":      map[string]string{"id": c.ChannelID, "name": "alerts"},
		"container":    map[string]any{"type": "message", "message_ts": c.MessageTS, "channel_id": c.ChannelID, "is_ephemeral": false},
		"message":      map[string]any{"type": "message", "ts": c.MessageTS},
		"response_url": "https://hooks.slack.invalid/actions/T0LOCAL/1/x",
		"actions": []map[string]any{{"type": "button", "action_id": c.ActionID, "block_id": c.BlockID, "value": c.Value,
			"text": map[string]any{"type": "plain_text", "text": "button"}, "action_ts": ats}},
	}
}

// Press sends c as an interactive envelope and waits for its acknowledgement.
func (s *Server) Press(ctx context.Context, c Click) error {
	_, err := s.Envelope(ctx, NewEnvelopeID(), "interactive", c.Payload(), 0)
	return err
}
