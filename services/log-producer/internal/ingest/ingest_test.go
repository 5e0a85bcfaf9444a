package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// fakePublisher records what it was given; with err, calls from failFrom on fail as a
// publisher does while Kafka is down: at the context's deadline.
type fakePublisher struct {
	mu       sync.Mutex
	err      error
	failFrom int
	calls    int
	lines    []source.Line
	block    chan struct{} // when set, Publish waits for it
}

func (p *fakePublisher) Publish(ctx context.Context, lines []source.Line) error {
	if p.block != nil {
		<-p.block
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.err != nil && p.calls >= p.failFrom {
		p.mu.Unlock()
		<-ctx.Done() // Kafka not answering: the publisher retries until the deadline
		p.mu.Lock()
		return errors.Join(ctx.Err(), p.err)
	}
	p.lines = append(p.lines, lines...)
	return nil
}

func testConfig() Config {
	c := DefaultConfig()
	c.MaxBodyBytes, c.MaxInFlightBytes, c.PublishTimeout = 1024, 1<<20, 100*time.Millisecond
	return c
}

type request struct {
	contentType string
	headers     map[string]string
	body        []byte
}

func do(t *testing.T, h http.Handler, rq request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(rq.body))
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	for k, v := range rq.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %q is not JSON: %v", rec.Body.String(), err)
	}
	return rec, out
}

func post(t *testing.T, h http.Handler, contentType, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	return do(t, h, request{contentType: contentType, body: []byte(body)})
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

func TestIngest(t *testing.T) {
	when := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		rq          request
		pubErr      error
		code        int
		errContains string
		want        []source.Line
	}{
		{name: "text lines", rq: request{contentType: "text/plain; charset=utf-8", body: []byte("a\r\n\nb\n")}, code: 202,
			want: []source.Line{{Text: "a", Source: "http"}, {Text: "b", Source: "http"}}},
		{name: "no content type is text", rq: request{body: []byte("only")}, code: 202, want: []source.Line{{Text: "only", Source: "http"}}},
		{name: "curl's default type is text", rq: request{contentType: "application/x-www-form-urlencoded", body: []byte("a=b&c")}, code: 202,
			want: []source.Line{{Text: "a=b&c", Source: "http"}}},
		{name: "us-ascii", rq: request{contentType: "text/plain; charset=US-ASCII", body: []byte("a")}, code: 202, want: []source.Line{{Text: "a", Source: "http"}}},
		{name: "byte order mark", rq: request{contentType: "text/plain", body: []byte("\xef\xbb\xbfa")}, code: 202, want: []source.Line{{Text: "a", Source: "http"}}},
		{name: "ndjson", rq: request{contentType: "application/x-ndjson",
			body: []byte(`{"message":"m1","host":"web1","source":"nginx","time":"2026-11-24T06:00:00Z"}` + "\n" + `{"message":"m2","host":null}`)}, code: 202,
			want: []source.Line{{Text: "m1", Host: "web1", Source: "nginx", Time: when}, {Text: "m2", Source: "http"}}},
		{name: "gzip", rq: request{contentType: "text/plain", headers: map[string]string{"Content-Encoding": "gzip"}, body: gz(t, "a\nb\n")}, code: 202,
			want: []source.Line{{Text: "a", Source: "http"}, {Text: "b", Source: "http"}}},
		{name: "ndjson missing message", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"ok"}` + "\n\n" + `{"host":"x"}`)},
			code: 400, errContains: `line 3: "message" is required`},
		{name: "ndjson bad time", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m","time":"yesterday"}`)},
			code: 400, errContains: `line 1: "time" must be RFC 3339`},
		{name: "ndjson not json", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m"}` + "\nhello")}, code: 400, errContains: "line 2:"},
		{name: "ndjson unknown key", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m","level":"x"}`)}, code: 400, errContains: `unknown key "level"`},
		{name: "ndjson keys are case-sensitive", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m"}` + "\n" + `{"Message":"m"}`)},
			code: 400, errContains: `line 2: unknown key "Message" (keys are case-sensitive`},
		{name: "ndjson duplicate key", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m","host":"a","host":"b"}`)},
			code: 400, errContains: `line 1: duplicate key "host"`},
		{name: "ndjson non-string value", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m","host":7}`)}, code: 400, errContains: `"host" must be a string`},
		{name: "ndjson NUL in message", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"a\u0000b"}`)}, code: 400, errContains: "NUL"},
		{name: "ndjson two values", rq: request{contentType: "application/x-ndjson", body: []byte(`{"message":"m"} {"message":"n"}`)}, code: 400, errContains: "more than one"},
		{name: "empty", rq: request{contentType: "text/plain", body: []byte("\n\n")}, code: 400, errContains: "no log lines"},
		{name: "too large", rq: request{contentType: "text/plain", body: bytes.Repeat([]byte("x"), 2000)}, code: 413, errContains: "ingest.max_body_bytes"},
		{name: "gzip too large once decoded", rq: request{contentType: "text/plain", headers: map[string]string{"Content-Encoding": "gzip"},
			body: gz(t, strings.Repeat("x", 5000))}, code: 413, errContains: "decompressed body larger than 1024"},
		{name: "gzip corrupt", rq: request{contentType: "text/plain", headers: map[string]string{"Content-Encoding": "gzip"}, body: []byte("not gzip")},
			code: 400, errContains: "gzip"},
		{name: "gzip without Content-Encoding is binary", rq: request{contentType: "text/plain", body: gz(t, "a\n")}, code: 415, errContains: "binary body"},
		{name: "other encodings", rq: request{contentType: "text/plain", headers: map[string]string{"Content-Encoding": "br"}, body: []byte("a")},
			code: 415, errContains: `Content-Encoding "br"`},
		{name: "other charset", rq: request{contentType: "text/plain; charset=iso-8859-1", body: []byte("caf\xe9")}, code: 415, errContains: `charset "iso-8859-1"`},
		{name: "NUL byte", rq: request{contentType: "text/plain", body: []byte("a\nb\x00c\n")}, code: 415, errContains: "NUL byte on line 2"},
		{name: "not UTF-8 at all", rq: request{contentType: "text/plain", body: []byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")}, code: 415, errContains: "not UTF-8"},
		{name: "a stray byte is repaired downstream", rq: request{contentType: "text/plain", body: []byte("caf\xe9 au lait, ordered by bob")}, code: 202,
			want: []source.Line{{Text: "caf\xe9 au lait, ordered by bob", Source: "http"}}},
		{name: "unsupported type", rq: request{contentType: "application/xml", body: []byte("<a/>")}, code: 415},
		{name: "bad idempotency key", rq: request{body: []byte("a"), headers: map[string]string{"Idempotency-Key": "two words"}}, code: 400, errContains: "Idempotency-Key"},
		{name: "kafka down", rq: request{contentType: "text/plain", body: []byte("a\n")}, pubErr: errors.New("no broker"), code: 503, errContains: "Retry the same request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{err: tt.pubErr}
			h := NewHandler(testConfig(), pub, nil, nil, nil)
			rec, out := do(t, h, tt.rq)
			if rec.Code != tt.code {
				t.Fatalf("status %d (%v), want %d", rec.Code, out, tt.code)
			}
			if tt.errContains != "" && !strings.Contains(out["error"].(string), tt.errContains) {
				t.Fatalf("error %q, want it to contain %q", out["error"], tt.errContains)
			}
			if tt.code == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			if tt.code != 202 {
				if len(pub.lines) != 0 {
					t.Fatalf("refused request published %d lines", len(pub.lines))
				}
				return
			}
			if int(out["accepted"].(float64)) != len(tt.want) || len(pub.lines) != len(tt.want) {
				t.Fatalf("accepted %v, published %d, want %d", out["accepted"], len(pub.lines), len(tt.want))
			}
			for i, w := range tt.want {
				g := pub.lines[i]
				if g.Text != w.Text || g.Host != w.Host || g.Source != w.Source || !g.Time.Equal(w.Time) {
					t.Errorf("line %d = %+v, want %+v", i, g, w)
				}
				if g.Fields[FieldClient] != "anonymous" || g.MaxPast != DefaultConfig().MaxTimePast || g.MaxFuture != DefaultConfig().MaxTimeFuture {
					t.Errorf("line %d: fields %v, window %s/%s", i, g.Fields, g.MaxPast, g.MaxFuture)
				}
			}
		})
	}
}

// TestIngestRecordsWhatTheClientAsserted: host, source and time given by a client are
// kept and listed in ingest.asserted; the client's name is in ingest.client.
func TestIngestRecordsWhatTheClientAsserted(t *testing.T) {
	pub := &fakePublisher{}
	h := NewHandler(testConfig(), pub, nil, nil, nil)
	body := `{"message":"m1","host":"web1","time":"2026-11-24T06:00:00Z"}` + "\n" + `{"message":"m2","source":"nginx"}` + "\n" + `{"message":"m3"}`
	if rec, out := post(t, h, "application/x-ndjson", body); rec.Code != 202 {
		t.Fatalf("%d %v", rec.Code, out)
	}
	for i, want := range []string{"host,time", "source", ""} {
		if got := pub.lines[i].Fields[FieldAsserted]; got != want {
			t.Errorf("line %d: asserted %q, want %q", i+1, got, want)
		}
	}
}

// TestIngestIDsAreIdempotent: the same request sent twice gives its lines the same id
// keys (so the same event ids); another body, another Idempotency-Key or another client
// gives others; lines of one request differ.
func TestIngestIDsAreIdempotent(t *testing.T) {
	keys := func(rq request, tokens *Tokens) []string {
		t.Helper()
		pub := &fakePublisher{}
		h := NewHandler(testConfig(), pub, tokens, nil, nil)
		if rec, out := do(t, h, rq); rec.Code != 202 {
			t.Fatalf("%d %v", rec.Code, out)
		}
		var ks []string
		for _, l := range pub.lines {
			ks = append(ks, l.IDKey)
		}
		return ks
	}
	body := []byte("a\nb\na\n")
	first := keys(request{body: body}, nil)
	if len(first) != 3 || first[0] == first[1] || first[0] == first[2] {
		t.Fatalf("keys of one request must differ: %q", first)
	}
	if again := keys(request{body: body}, nil); strings.Join(again, "|") != strings.Join(first, "|") {
		t.Fatal("the same body sent again got other ids")
	}
	if other := keys(request{body: []byte("a\nb\nc\n")}, nil); other[0] == first[0] {
		t.Fatal("another body got the same ids")
	}
	withKey := keys(request{body: body, headers: map[string]string{"Idempotency-Key": "batch-42"}}, nil)
	if withKey[0] == first[0] {
		t.Fatal("an Idempotency-Key did not change the ids")
	}
	if k := keys(request{body: []byte("a\nb\nZ\n"), headers: map[string]string{"Idempotency-Key": "batch-42"}}, nil); k[0] != withKey[0] {
		t.Fatal("the same Idempotency-Key gave line 1 another id")
	}
	tokens := tokensFrom(t, "alice 0123456789abcdef0123\nbob fedcba9876543210fedc\n")
	asAlice := keys(request{body: body, headers: map[string]string{"Authorization": "Bearer 0123456789abcdef0123"}}, tokens)
	asBob := keys(request{body: body, headers: map[string]string{"Authorization": "Bearer fedcba9876543210fedc"}}, tokens)
	if asAlice[0] == asBob[0] || asAlice[0] == first[0] {
		t.Fatal("two clients sending the same body got the same ids")
	}
}

// permanentPublisher fails at once, before its context ends: a failure no retry fixes.
type permanentPublisher struct{}

func (permanentPublisher) Publish(context.Context, []source.Line) error {
	return errors.New("event too large even without its line")
}

// TestIngestPermanentFailureIsNotRetryLater: a failure that is not Kafka being slow is a
// 500 without Retry-After, never a 503 asking for a retry that cannot succeed.
func TestIngestPermanentFailureIsNotRetryLater(t *testing.T) {
	h := NewHandler(testConfig(), permanentPublisher{}, nil, nil, nil)
	rec, out := post(t, h, "text/plain", "a\n")
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Retry-After") != "" {
		t.Fatalf("%d %v (Retry-After %q)", rec.Code, out, rec.Header().Get("Retry-After"))
	}
}

// TestIngestPartialFailureSaysSo: Kafka failing after the first chunk answers 503 with
// the line from which nothing was accepted.
func TestIngestPartialFailureSaysSo(t *testing.T) {
	pub := &fakePublisher{err: errors.New("no broker"), failFrom: 2}
	cfg := testConfig()
	cfg.MaxBodyBytes, cfg.MaxInFlightBytes = 1<<20, 1<<20
	h := NewHandler(cfg, pub, nil, nil, nil)
	body := strings.Repeat("line\n", chunkLines+10)
	rec, out := post(t, h, "text/plain", body)
	if rec.Code != 503 || !strings.Contains(out["error"].(string), "from line 501 on") || len(pub.lines) != chunkLines {
		t.Fatalf("%d %v, %d lines published", rec.Code, out, len(pub.lines))
	}
}

func tokensFrom(t *testing.T, content string) *Tokens {
	t.Helper()
	tok, err := LoadTokens(tokensFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestIngestOnlyPost(t *testing.T) {
	h := NewHandler(DefaultConfig(), &fakePublisher{}, nil, nil, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func FuzzIngestBody(f *testing.F) {
	f.Add("application/x-ndjson", `{"message":"m","host":"h","source":"s","time":"2026-11-24T06:00:00Z"}`)
	f.Add("application/x-ndjson", `{"message":"\u0000\ud800"}`)
	f.Add("application/x-ndjson", `{"message":"m","Message":"n"}`)
	f.Add("text/plain", "a\nb\r\n")
	f.Add("text/plain; charset=latin1", "a")
	f.Add("", "\xff\xfe")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		pub := &fakePublisher{}
		h := NewHandler(Config{MaxBodyBytes: 4096, MaxInFlightBytes: 8192, MaxInFlightRequests: 1, PublishTimeout: time.Second}, pub, nil, nil, nil)
		req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 202:
			var out struct{ Accepted int }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Accepted != len(pub.lines) || out.Accepted == 0 {
				t.Fatalf("202 %q but %d lines published", rec.Body.String(), len(pub.lines))
			}
			for _, l := range pub.lines {
				if strings.IndexByte(l.Text, 0) >= 0 {
					t.Fatalf("a NUL-bearing line was accepted: %q", l.Text)
				}
			}
		case 400, 413, 415:
			if len(pub.lines) != 0 {
				t.Fatalf("%d but %d lines published", rec.Code, len(pub.lines))
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
