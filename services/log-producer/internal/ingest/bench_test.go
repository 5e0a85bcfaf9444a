package ingest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
)

type nopWriter struct{}

func (nopWriter) Write(context.Context, ...kafkax.Message) error { return nil }

func benchBody(ndjson bool, n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("[24/Nov/2026 06:%02d:%02d] 10.0.%d.%d user%02d accessed file '/home/user%02d/docs/f%d.txt'", i/60%60, i%60, i%250, i%200, i%50, i%50, i)
		if ndjson {
			fmt.Fprintf(&b, `{"message":%q,"host":"web%d","source":"shipper"}`+"\n", line, i%7)
		} else {
			b.WriteString(line + "\n")
		}
	}
	return b.Bytes()
}

// BenchmarkIngest posts 1,000-line bodies through the handler and the real publisher
// (parse, encode) to a writer that accepts at once: the cost of ingest without Kafka.
func BenchmarkIngest(b *testing.B) {
	for _, tc := range []struct {
		name, ct string
		ndjson   bool
	}{{"text", "text/plain", false}, {"ndjson", "application/x-ndjson", true}} {
		b.Run(tc.name, func(b *testing.B) {
			const lines = 1000
			body := benchBody(tc.ndjson, lines)
			h := NewHandler(DefaultConfig(), publish.New(nopWriter{}, publish.Options{Topic: "logs.raw"}), nil, nil, nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
				req.Header.Set("Content-Type", tc.ct)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
