package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

type fakePublisher struct {
	err   error
	lines []publish.Line
}

func (p *fakePublisher) Publish(ctx context.Context, lines []publish.Line) error {
	if p.err != nil {
		return p.err
	}
	p.lines = append(p.lines, lines...)
	return nil
}

func post(t *testing.T, h http.Handler, contentType, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %q is not JSON: %v", rec.Body.String(), err)
	}
	return rec, out
}

func TestIngest(t *testing.T) {
	when := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		contentType string
		body        string
		pubErr      error
		code        int
		errContains string
		want        []publish.Line
	}{
		{name: "text lines", contentType: "text/plain; charset=utf-8", body: "a\r\n\nb\n", code: 202,
			want: []publish.Line{{Text: "a", Source: "http"}, {Text: "b", Source: "http"}}},
		{name: "no content type is text", body: "only", code: 202, want: []publish.Line{{Text: "only", Source: "http"}}},
		{name: "curl's default type is text", contentType: "application/x-www-form-urlencoded", body: "a=b&c", code: 202,
			want: []publish.Line{{Text: "a=b&c", Source: "http"}}},
		{name: "ndjson", contentType: "application/x-ndjson",
			body: `{"message":"m1","host":"web1","source":"nginx","time":"2026-11-24T06:00:00Z"}` + "\n" + `{"message":"m2"}`, code: 202,
			want: []publish.Line{{Text: "m1", Host: "web1", Source: "nginx", Time: when}, {Text: "m2", Source: "http"}}},
		{name: "ndjson missing message", contentType: "application/x-ndjson", body: `{"message":"ok"}` + "\n\n" + `{"host":"x"}`,
			code: 400, errContains: `line 3: "message" is required`},
		{name: "ndjson bad time", contentType: "application/x-ndjson", body: `{"message":"m","time":"yesterday"}`,
			code: 400, errContains: `line 1: "time" must be RFC 3339`},
		{name: "ndjson not json", contentType: "application/x-ndjson", body: `{"message":"m"}` + "\nhello", code: 400, errContains: "line 2:"},
		{name: "ndjson unknown field", contentType: "application/x-ndjson", body: `{"message":"m","level":"x"}`, code: 400, errContains: `unknown field "level"`},
		{name: "ndjson two values", contentType: "application/x-ndjson", body: `{"message":"m"} {"message":"n"}`, code: 400, errContains: "more than one"},
		{name: "empty", contentType: "text/plain", body: "\n\n", code: 400, errContains: "no log lines"},
		{name: "too large", contentType: "text/plain", body: strings.Repeat("x", 2000), code: 413, errContains: "http.max_body_bytes"},
		{name: "unsupported type", contentType: "application/xml", body: "<a/>", code: 415},
		{name: "kafka down", contentType: "text/plain", body: "a\n", pubErr: errors.New("no broker"), code: 503, errContains: "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{err: tt.pubErr}
			h := NewHandler(Config{MaxBodyBytes: 1024, PublishTimeout: time.Second}, pub, nil, nil)
			rec, out := post(t, h, tt.contentType, tt.body)
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
			}
		})
	}
}

func TestIngestOnlyPost(t *testing.T) {
	h := NewHandler(DefaultConfig(), &fakePublisher{}, nil, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "POST" {
		t.Fatalf("GET: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

func FuzzIngestBody(f *testing.F) {
	f.Add("application/x-ndjson", `{"message":"m","host":"h","source":"s","time":"2026-11-24T06:00:00Z"}`)
	f.Add("application/x-ndjson", `{"message":"\u0000\ud800"}`)
	f.Add("text/plain", "a\nb\r\n")
	f.Add("", "\xff\xfe")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		pub := &fakePublisher{}
		h := NewHandler(Config{MaxBodyBytes: 4096, PublishTimeout: time.Second}, pub, nil, nil)
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
		case 400, 413, 415:
			if len(pub.lines) != 0 {
				t.Fatalf("%d but %d lines published", rec.Code, len(pub.lines))
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
