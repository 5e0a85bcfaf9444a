package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Answer is one scripted reply.
type Answer struct {
	Status     int
	Body       string
	RetryAfter int // seconds; sets Retry-After when > 0
}

// Common answers.
var (
	OK              = Answer{Status: 200, Body: "ok"}
	InvalidPayload  = Answer{Status: 400, Body: "invalid_payload"}
	NoService       = Answer{Status: 404, Body: "no_service"}
	ChannelNotFound = Answer{Status: 404, Body: "channel_not_found"}
	ServerError     = Answer{Status: 500, Body: "internal_error"}
)

// RateLimited is a 429 asking to wait s seconds.
func RateLimited(s int) Answer { return Answer{Status: 429, Body: "rate_limited", RetryAfter: s} }

// APIError is the Web API's HTTP 200 {"ok":false,"error":code}.
func APIError(code string) Answer {
	return Answer{Status: 200, Body: fmt.Sprintf(`{"ok":false,"error":%q}`, code)}
}

// Request is a recorded request.
type Request struct {
	Path   string
	Auth   string
	Body   []byte
	Status int    // what was answered
	Answer string // the answer's body
}

// Server is the local Slack.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	script  []Answer
	fn      func(r Request) (Answer, bool)
	reqs    []Request
	ts      int
	members map[string][]string // channel → member user ids (conversations.members)
	socket  socketState
}

// New starts a server; Close it when done.
func New() *Server {
	s := &Server{members: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/socket", s.serveSocket)
	mux.HandleFunc("/", s.handle)
	s.Server = httptest.NewServer(mux)
	return s
}

// Close closes the Socket Mode connections, then the server.
func (s *Server) Close() {
	s.closeSockets()
	s.Server.Close()
}

// SetMembers sets the members conversations.members lists for channel.
func (s *Server) SetMembers(channel string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.members[channel] = users
}

// Script queues answers, used in order before falling back to success.
func (s *Server) Script(a ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, a...)
}

// Func decides answers (when ok) ahead of the script; nil removes it.
func (s *Server) Func(f func(r Request) (Answer, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fn = f
}

// Requests returns a copy of every recorded request.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Accepted returns the bodies of requests answered with success.
func (s *Server) Accepted() [][]byte {
	var out [][]byte
	for _, r := range s.Requests() {
		if r.Status == 200 && (len(r.Body) > 0) {
			out = append(out, r.Body)
		}
	}
	return out
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Auth, req.Body = fromForm(req.Auth, body)
	}
	s.mu.Lock()
	var a Answer
	var ok bool
	if s.fn != nil {
		a, ok = s.fn(req)
	}
	if !ok && len(s.script) > 0 {
		a, s.script, ok = s.script[0], s.script[1:], true
	}
	if !ok {
		a = s.answer(r.URL.Path, req)
	}
	req.Status, req.Answer = a.Status, a.Body
	if a.Body != "" && a.Body[0] == '{' && a.Status == 200 {
		var v struct {
			OK bool `json:"ok"`
		}
		if json.Unmarshal([]byte(a.Body), &v) == nil && !v.OK {
			req.Status = 0 // an API error: not accepted
		}
	}
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if a.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(a.RetryAfter))
	}
	if a.Body != "" && a.Body[0] == '{' {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// fromForm turns a Web API form post (how slack-go sends chat.postMessage) into the JSON
// object Slack reads from it, so tests inspect one shape: blocks and attachments are
// JSON-encoded fields, the token may be a field instead of the Authorization header.
func fromForm(auth string, body []byte) (string, []byte) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return auth, body
	}
	obj := map[string]any{}
	for k, v := range vals {
		if len(v) == 0 {
			continue
		}
		switch k {
		case "token":
			if auth == "" {
				auth = "Bearer " + v[0]
			}
		case "blocks", "attachments", "metadata":
			obj[k] = json.RawMessage(v[0])
		default:
			obj[k] = v[0]
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return auth, body
	}
	return auth, b
}

// answer is Slack's answer to a request nothing scripted, with s.mu held: a webhook's
// "ok", or the Web API method's success.
func (s *Server) answer(path string, req Request) Answer {
	method, api := strings.CutPrefix(path, "/api/")
	if !api {
		return OK
	}
	var m struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	_ = json.Unmarshal(req.Body, &m)
	switch method {
	case "chat.postMessage":
		s.ts++
		return Answer{Status: 200, Body: fmt.Sprintf(`{"ok":true,"channel":%q,"ts":"1700000000.%06d"}`, m.Channel, s.ts)}
	case "chat.update":
		return Answer{Status: 200, Body: fmt.Sprintf(`{"ok":true,"channel":%q,"ts":%q}`, m.Channel, m.TS)}
	case "chat.postEphemeral":
		s.ts++
		return Answer{Status: 200, Body: fmt.Sprintf(`{"ok":true,"message_ts":"1700000000.%06d"}`, s.ts)}
	case "conversations.members":
		members, ok := s.members[m.Channel]
		if !ok {
			return APIError("channel_not_found")
		}
		b, _ := json.Marshal(map[string]any{"ok": true, "members": members, "response_metadata": map[string]string{"next_cursor": ""}})
		return Answer{Status: 200, Body: string(b)}
	case "apps.connections.open":
		if !strings.HasPrefix(req.Auth, "Bearer xapp-") {
			return APIError("invalid_auth")
		}
		return Answer{Status: 200, Body: fmt.Sprintf(`{"ok":true,"url":"ws://%s/socket"}`, strings.TrimPrefix(s.URL, "http://"))}
	}
	return APIError("unknown_method")
}

// WebhookURL is the URL to configure as a Slack webhook.
func (s *Server) WebhookURL() string { return s.URL + "/hook" }

// APIURL is the Web API base URL.
func (s *Server) APIURL() string { return s.URL + "/api/" }
