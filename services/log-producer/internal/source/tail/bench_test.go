package tail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

type discard struct{ n int }

func (d *discard) Publish(_ context.Context, lines []source.Line) error {
	d.n += len(lines)
	return nil
}

// BenchmarkTailRead measures reading a file of auth lines in batches of 500 (without
// Kafka and without the state file): the tail's own cost per line.
func BenchmarkTailRead(b *testing.B) {
	line := "Dec 10 07:13:43 LabSZ sshd[24227]: Failed password for root from 5.36.59.76 port 42393 ssh2\n"
	const lines = 20000
	path := filepath.Join(b.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte(strings.Repeat(line, lines)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		d := &discard{}
		tl, err := New(Config{Paths: []string{path}, StartAt: "beginning"}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := tl.Poll(context.Background(), d); err != nil {
			b.Fatal(err)
		}
		tl.Close()
		if d.n != lines {
			b.Fatalf("read %d lines", d.n)
		}
		total += d.n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "events/s")
}
