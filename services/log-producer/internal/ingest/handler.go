package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// Path is where the handler is mounted.
const Path = "/v1/logs"

// Fields the ingest API sets on every event.
const (
	// FieldClient is the authenticated client: the token's name, "cert:<CN>" of a client
	// certificate, or "anonymous" when the API asks for no credentials.
	FieldClient = "ingest.client"
	// FieldAsserted lists what the client asserted of host, source and time (NDJSON).
	FieldAsserted = "ingest.asserted"
)

const (
	// chunkLines and chunkBytes bound one Publish call: a request is published in chunks
	// so that its events and messages never exist all at once.
	chunkLines = 500
	chunkBytes = 1 << 20
	// maxIdempotencyKey is the longest Idempotency-Key accepted.
	maxIdempotencyKey = 255
)

// Metrics of the ingest API. A nil *Metrics counts nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	inFlight prometheus.Gauge
	bytes    prometheus.Gauge
}

// NewMetrics registers the ingest metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "logwarden_producer_http_requests_total",
			Help: "Requests to the HTTP ingest API, by status code.",
		}, []string{"code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logwarden_producer_ingest_in_flight_requests", Help: "Ingest requests being read or published.",
		}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "logwarden_producer_ingest_in_flight_bytes", Help: "Bytes of ingest request bodies held in memory.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.inFlight, m.bytes)
	}
	return m
}

// Handler serves POST /v1/logs.
type Handler struct {
	cfg     Config
	pub     source.Publisher
	tokens  *Tokens // nil: no token asked
	log     *zap.Logger
	metrics *Metrics
	slots   chan struct{}
	bytes   *semaphore.Weighted
	rates   *rates // nil: no per-client limit
}

// NewHandler returns the handler. tokens nil asks for no bearer token; log and m may be nil.
func NewHandler(cfg Config, pub source.Publisher, tokens *Tokens, log *zap.Logger, m *Metrics) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if cfg.MaxInFlightRequests < 1 {
		cfg.MaxInFlightRequests = 1
	}
	return &Handler{cfg: cfg, pub: pub, tokens: tokens, log: log, metrics: m,
		slots: make(chan struct{}, cfg.MaxInFlightRequests),
		bytes: semaphore.NewWeighted(max(cfg.MaxInFlightBytes, cfg.MaxBodyBytes+1)),
		rates: newRates(cfg.ClientLinesPerSecond, nil)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
		return
	}
	client, ok := h.authenticate(r)
	if !ok {
		h.log.Debug("ingest: request without a valid token", zap.String("remote", r.RemoteAddr),
			zap.Bool("authorization_header", r.Header.Get("Authorization") != ""))
		w.Header().Set("WWW-Authenticate", `Bearer realm="logwarden-ingest"`)
		h.reply(w, http.StatusUnauthorized, map[string]any{"error": "a valid bearer token is required (Authorization: Bearer <token>)"})
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		h.reply(w, http.StatusTooManyRequests, map[string]any{"error": "too many requests in flight (ingest.max_in_flight_requests " +
			strconv.Itoa(h.cfg.MaxInFlightRequests) + "): retry later"})
		return
	}
	h.metrics.inFlight.Inc()
	defer h.metrics.inFlight.Dec()
	b := &budget{sem: h.bytes}
	defer func() {
		h.metrics.bytes.Sub(float64(b.held))
		b.release()
	}()
	n, rf := h.serve(w, r, client, b)
	if rf != nil {
		h.log.Debug("ingest: request refused", zap.String("client", client), zap.Int("status", rf.status), zap.String("reason", rf.msg))
		for k, v := range rf.header {
			w.Header().Set(k, v)
		}
		h.reply(w, rf.status, map[string]any{"error": rf.msg})
		return
	}
	h.reply(w, http.StatusAccepted, map[string]any{"accepted": n})
}

// authenticate returns the client of the request, or false when a token is asked and
// the request has no valid one. A verified client certificate names the client when no
// token is asked (the TLS handshake already refused connections without one).
func (h *Handler) authenticate(r *http.Request) (string, bool) {
	client := "anonymous"
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		client = "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName
	}
	if h.tokens == nil {
		return client, true
	}
	return h.tokens.Match(bearer(r.Header.Get("Authorization")))
}

// serve reads, checks and publishes one request; it returns the number of events or the
// refusal. Every check happens before the first line is published, so a 4xx means
// nothing of the request was published.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, client string, b *budget) (int, *refusal) {
	ndjson, rf := mediaType(r.Header.Get("Content-Type"))
	if rf != nil {
		return 0, rf
	}
	gz, rf := gzipped(r.Header)
	if rf != nil {
		return 0, rf
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || !printable(key) {
		return 0, refuse(http.StatusBadRequest, "Idempotency-Key must be 1-%d printable ASCII characters", maxIdempotencyKey)
	}
	body, rf := h.body(w, r, gz, b)
	h.metrics.bytes.Add(float64(b.held))
	if rf != nil {
		return 0, rf
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if rf := binary(body); rf != nil {
		return 0, rf
	}
	n, rf := h.check(body, ndjson)
	if rf != nil {
		return 0, rf
	}
	if wait, ok := h.rates.admit(client, n); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		rf := refuse(http.StatusTooManyRequests, "client %s is over ingest.client_lines_per_second (%g): retry in %d s", client, h.cfg.ClientLinesPerSecond, secs)
		rf.header = map[string]string{"Retry-After": strconv.Itoa(secs)}
		return 0, rf
	}
	if err := h.publish(r.Context(), body, ndjson, idBase(client, key, ndjson, body), client); err != nil {
		return 0, err
	}
	return n, nil
}

// check reads every line once without keeping anything: the number of events, or the
// first bad line.
func (h *Handler) check(body []byte, ndjson bool) (int, *refusal) {
	n := 0
	maxRecord := h.cfg.maxRecordBytes()
	for line, raw := range lines(body) {
		if !ndjson {
			n++
			continue
		}
		if len(raw) > maxRecord {
			return 0, refuse(http.StatusRequestEntityTooLarge, "line %d: record longer than %d bytes", line, maxRecord)
		}
		if _, err := decodeRecord(raw); err != nil {
			return 0, refuse(http.StatusBadRequest, "line %d: %v", line, err)
		}
		n++
	}
	if n == 0 {
		return 0, refuse(http.StatusBadRequest, "no log lines in the body")
	}
	return n, nil
}

// publish writes the request in chunks. A failure after the first chunk leaves part of
// the request written: the answer says so, and a retry of the same request gives every
// line the same event id again (idBase), so downstream dedup drops what was written twice.
func (h *Handler) publish(ctx context.Context, body []byte, ndjson bool, base, client string) *refusal {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.PublishTimeout)
	defer cancel()
	var byAsserted [setMessage]map[string]string // shared, read-only field maps
	fields := func(set uint8) map[string]string {
		if byAsserted[set] == nil {
			byAsserted[set] = map[string]string{FieldClient: client}
			if a := asserted(set); a != "" {
				byAsserted[set][FieldAsserted] = a
			}
		}
		return byAsserted[set]
	}
	maxLine := h.cfg.MaxLineBytes
	if maxLine <= 0 {
		maxLine = 64 << 10
	}
	chunk := make([]source.Line, 0, chunkLines)
	size, first, done := 0, 0, 0
	flush := func() *refusal {
		if len(chunk) == 0 {
			return nil
		}
		if err := h.pub.Publish(ctx, chunk); err != nil {
			if ctx.Err() == nil { // not a timeout: a failure no retry can fix
				h.log.Error("ingest: a chunk cannot be written", zap.String("client", client),
					zap.Int("lines_acknowledged", done), zap.Int("chunk_lines", len(chunk)), zap.Error(err))
				return refuse(http.StatusInternalServerError, "lines from line %d on cannot be written (see the producer's log); "+
					"earlier lines may have been written", first)
			}
			h.log.Warn("ingest: Kafka did not acknowledge a chunk; answering 503", zap.String("client", client),
				zap.Int("lines_acknowledged", done), zap.Int("chunk_lines", len(chunk)), zap.Error(err))
			rf := refuse(http.StatusServiceUnavailable, "Kafka did not acknowledge the request within ingest.publish_timeout. "+
				"Lines from line %d on were not accepted; earlier lines may have been written. Retry the same request "+
				"(same body, or same Idempotency-Key): its lines keep their event ids and copies are dropped downstream", first)
			rf.header = map[string]string{"Retry-After": "5"}
			return rf
		}
		done += len(chunk)
		chunk, size = chunk[:0], 0
		return nil
	}
	for line, raw := range lines(body) {
		if len(chunk) == 0 {
			first = line
		}
		l := source.Line{Source: "http", IDKey: base + strconv.Itoa(line), MaxPast: h.cfg.MaxTimePast, MaxFuture: h.cfg.MaxTimeFuture}
		if ndjson {
			rec := decodeChecked(raw)
			l.Text, l.Host = rec.message, rec.host
			if rec.source != "" {
				l.Source = rec.source
			}
			if rec.time != "" {
				l.Time, _ = parseTime(rec.time)
			}
			l.Fields = fields(rec.set)
		} else {
			if len(raw) > maxLine {
				raw = raw[:maxLine+1] // the parser cuts it and marks it truncated
			}
			l.Text, l.Fields = string(raw), fields(0)
		}
		chunk = append(chunk, l)
		size += len(l.Text)
		if len(chunk) >= chunkLines || size >= chunkBytes {
			if rf := flush(); rf != nil {
				return rf
			}
		}
	}
	return flush()
}

// idBase is the start of every line's id key: the client, then the client's
// Idempotency-Key or, without one, a digest of the body, so the same request sent again
// by the same client gives its lines the same event ids.
func idBase(client, key string, ndjson bool, body []byte) string {
	if key != "" {
		return "http\x00" + client + "\x00key:" + key + "\x00"
	}
	h := sha256.New()
	if ndjson {
		h.Write([]byte("ndjson\x00"))
	} else {
		h.Write([]byte("text\x00"))
	}
	h.Write(body)
	return "http\x00" + client + "\x00body:" + hex.EncodeToString(h.Sum(nil)) + "\x00"
}

// lines yields the 1-based number and content of every non-blank line (without its
// line ending).
func lines(body []byte) func(yield func(int, []byte) bool) {
	return func(yield func(int, []byte) bool) {
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
			if !yield(n, raw) {
				return
			}
		}
	}
}

func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func (h *Handler) reply(w http.ResponseWriter, code int, body map[string]any) {
	h.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
