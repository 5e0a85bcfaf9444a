package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

// Path is where the handler is mounted.
const Path = "/v1/logs"

// Config of the HTTP ingest source. Keys are http.* in the service's configuration.
type Config struct {
	MaxBodyBytes   int64         `mapstructure:"max_body_bytes" desc:"largest accepted request body in bytes (larger: 413)"`
	PublishTimeout time.Duration `mapstructure:"publish_timeout" desc:"how long a request waits for Kafka before answering 503"`
}

// DefaultConfig: 5 MiB bodies, 10 s to reach Kafka.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 5 << 20, PublishTimeout: 10 * time.Second}
}

// Validate names the key of the first bad setting.
func (c Config) Validate() error {
	if c.MaxBodyBytes < 1 {
		return fmt.Errorf("http.max_body_bytes (HTTP_MAX_BODY_BYTES): must be ≥ 1, got %d", c.MaxBodyBytes)
	}
	if c.PublishTimeout <= 0 {
		return fmt.Errorf("http.publish_timeout (HTTP_PUBLISH_TIMEOUT): must be > 0, got %s", c.PublishTimeout)
	}
	return nil
}

// Publisher writes a batch and returns once Kafka acknowledged it, or an error.
type Publisher interface {
	Publish(ctx context.Context, lines []publish.Line) error
}

// Handler serves POST /v1/logs.
type Handler struct {
	cfg     Config
	pub     Publisher
	log     *zap.Logger
	metrics *prometheus.CounterVec
}

// NewHandler returns the handler; reg may be nil.
func NewHandler(cfg Config, pub Publisher, log *zap.Logger, reg prometheus.Registerer) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	h := &Handler{cfg: cfg, pub: pub, log: log,
		metrics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_http_requests_total",
			Help: "Requests to the HTTP ingest API, by status code.",
		}, []string{"code"})}
	if reg != nil {
		reg.MustRegister(h.metrics)
	}
	return h
}

// Record is one application/x-ndjson line.
type Record struct {
	Message *string `json:"message"`
	Host    string  `json:"host"`
	Source  string  `json:"source"`
	Time    string  `json:"time"`
}

// badRequest is a client error with the status to answer.
type badRequest struct {
	status int
	msg    string
}

func (e *badRequest) Error() string { return e.msg }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
		return
	}
	lines, err := h.read(w, r)
	if err != nil {
		var br *badRequest
		if errors.As(err, &br) {
			h.reply(w, br.status, map[string]any{"error": br.msg})
			return
		}
		h.reply(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.PublishTimeout)
	defer cancel()
	if err := h.pub.Publish(ctx, lines); err != nil {
		h.log.Warn("ingest: Kafka did not acknowledge a batch; answering 503", zap.Int("lines", len(lines)), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		h.reply(w, http.StatusServiceUnavailable, map[string]any{
			"error": "Kafka did not acknowledge the batch; nothing was accepted, retry later (some lines may arrive twice)",
		})
		return
	}
	h.reply(w, http.StatusAccepted, map[string]any{"accepted": len(lines)})
}

func (h *Handler) read(w http.ResponseWriter, r *http.Request) ([]publish.Line, error) {
	ndjson := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, &badRequest{http.StatusUnsupportedMediaType, "bad Content-Type: " + err.Error()}
		}
		switch mt {
		case "text/plain", "application/x-www-form-urlencoded": // the latter: curl --data-binary's default
		case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json":
			ndjson = true
		default:
			return nil, &badRequest{http.StatusUnsupportedMediaType, "Content-Type must be text/plain or application/x-ndjson, got " + mt}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &badRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes (http.max_body_bytes)", h.cfg.MaxBodyBytes)}
		}
		return nil, &badRequest{http.StatusBadRequest, "read body: " + err.Error()}
	}
	var lines []publish.Line
	n := 0
	for len(body) > 0 {
		n++
		var raw []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			raw, body = body[:i], body[i+1:]
		} else {
			raw, body = body, nil
		}
		raw = bytes.TrimSuffix(raw, []byte{'\r'})
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if !ndjson {
			lines = append(lines, publish.Line{Text: string(raw), Source: "http"})
			continue
		}
		l, err := decodeRecord(raw)
		if err != nil {
			return nil, &badRequest{http.StatusBadRequest, fmt.Sprintf("line %d: %v", n, err)}
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, &badRequest{http.StatusBadRequest, "no log lines in the body"}
	}
	return lines, nil
}

func decodeRecord(raw []byte) (publish.Line, error) {
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return publish.Line{}, fmt.Errorf("not a JSON object of message, host, source, time: %v", err)
	}
	if dec.More() {
		return publish.Line{}, errors.New("more than one JSON value on the line")
	}
	if rec.Message == nil || *rec.Message == "" {
		return publish.Line{}, errors.New(`"message" is required`)
	}
	if len(rec.Host) > 255 || len(rec.Source) > 255 || !utf8.ValidString(rec.Host) || !utf8.ValidString(rec.Source) {
		return publish.Line{}, errors.New(`"host" and "source" must be at most 255 bytes of UTF-8`)
	}
	l := publish.Line{Text: *rec.Message, Host: rec.Host, Source: rec.Source}
	if l.Source == "" {
		l.Source = "http"
	}
	if rec.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, rec.Time)
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			return publish.Line{}, fmt.Errorf(`"time" must be RFC 3339 (2006-01-02T15:04:05Z), got %q`, rec.Time)
		}
		l.Time = t
	}
	return l, nil
}

func (h *Handler) reply(w http.ResponseWriter, code int, body map[string]any) {
	h.metrics.WithLabelValues(strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
