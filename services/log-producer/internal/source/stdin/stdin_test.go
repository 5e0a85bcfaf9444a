package stdin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

type recorder struct {
	mu      sync.Mutex
	batches [][]source.Line
	fail    int
}

func (r *recorder) Publish(ctx context.Context, lines []source.Line) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("down")
	}
	r.batches = append(r.batches, append([]source.Line(nil), lines...))
	return nil
}

func (r *recorder) texts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, b := range r.batches {
		for _, l := range b {
			if l.Source != "stdin" {
				panic("source " + l.Source)
			}
			out = append(out, l.Text)
		}
	}
	return out
}

func TestRunPublishesEverythingThenEndsAtEOF(t *testing.T) {
	tests := []struct {
		name  string
		input string
		cfg   Config
		want  []string
	}{
		{"lines", "a\nb\n\nc", Config{}, []string{"a", "b", "c"}},
		{"crlf kept for the parser", "a\r\n", Config{}, []string{"a\r"}},
		{"long line cut", strings.Repeat("x", 100<<10) + "\nafter\n", Config{MaxLineBytes: 4}, []string{"xxxxx", "after"}},
		{"empty", "", Config{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			if err := New(strings.NewReader(tt.input), tt.cfg).Run(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			if got := rec.texts(); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("published %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunBatchesAPipe(t *testing.T) {
	rec := &recorder{}
	input := strings.Repeat("line\n", 1000)
	if err := New(strings.NewReader(input), Config{BatchLines: 300}).Run(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.texts()) != 1000 {
		t.Fatalf("%d lines published", len(rec.texts()))
	}
	for _, b := range rec.batches {
		if len(b) > 300 {
			t.Fatalf("batch of %d lines, limit 300", len(b))
		}
	}
	if len(rec.batches) > 10 {
		t.Fatalf("%d batches for 1000 buffered lines: not batching", len(rec.batches))
	}
}

func TestRunSendsAnInteractiveLineAtOnce(t *testing.T) {
	pr, pw := io.Pipe()
	rec := &recorder{}
	done := make(chan error)
	go func() { done <- New(pr, Config{}).Run(context.Background(), rec) }()
	pw.Write([]byte("first\n"))
	// The line must be published while the reader waits for more input.
	for i := 0; len(rec.texts()) == 0; i++ {
		if i > 5000 {
			t.Fatal("first line not published while stdin stays open")
		}
		time.Sleep(time.Millisecond)
	}
	pw.Write([]byte("second\n"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := rec.texts(); strings.Join(got, "|") != "first|second" {
		t.Fatalf("published %q", got)
	}
}

func TestRunReturnsOnCancelWithAnOpenPipe(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- New(pr, Config{Grace: time.Hour}).Run(ctx, &recorder{}) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// preparer is a recorder that prepares batches (copying the lines, as the publisher
// does) and sends them later, like publish.Publisher.
type preparer struct {
	recorder
	sending    sync.Mutex // held while a batch is being sent: at most one at a time
	concurrent bool
	failAt     int // the Send of this batch (1-based) fails; 0: none
	sends      int
}

type prepared struct {
	p     *preparer
	lines []source.Line
}

func (p *preparer) Prepare(lines []source.Line) (source.Prepared, error) {
	return &prepared{p: p, lines: append([]source.Line(nil), lines...)}, nil
}

func (b *prepared) Send(ctx context.Context) error {
	p := b.p
	if !p.sending.TryLock() {
		p.concurrent = true
		p.sending.Lock()
	}
	defer p.sending.Unlock()
	p.sends++
	if p.sends == p.failAt {
		return errors.New("down")
	}
	time.Sleep(time.Millisecond) // the next batch is prepared meanwhile
	return p.recorder.Publish(ctx, b.lines)
}

// numberedLines returns n lines "line <i>" and the input that holds them.
func numberedLines(n int) (lines []string, input string) {
	var b strings.Builder
	for i := range n {
		lines = append(lines, fmt.Sprint("line ", i))
		fmt.Fprintln(&b, "line", i)
	}
	return lines, b.String()
}

// TestRunPipelined: with a Preparer, batches are prepared while the previous one is sent,
// sent one at a time and in order, every line once; a failed send stops the source with
// its error.
func TestRunPipelined(t *testing.T) {
	want, input := numberedLines(5000)
	p := &preparer{}
	if err := New(strings.NewReader(input), Config{BatchLines: 300}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := p.texts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("published %d lines, want %d in order", len(got), len(want))
	}
	if p.concurrent {
		t.Fatal("two batches were sent at once")
	}

	p = &preparer{failAt: 3}
	err := New(strings.NewReader(input), Config{BatchLines: 300}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "down") {
		t.Fatalf("err = %v, want the failed send's", err)
	}
	if n := len(p.texts()); n > 2*300 {
		t.Fatalf("%d lines published after the third batch failed", n)
	}
}

// starter prepares batches that can start (source.Starter), like publish.Publisher's with
// a kafkax.Writer: a batch's write begins at Start and is waited for by the func it
// returns.
type starter struct {
	recorder
	mu         sync.Mutex
	started    int
	writing    int
	maxWriting int
	failAt     int // the write of this batch (1-based) fails; 0: none
}

type startable struct {
	p     *starter
	lines []source.Line
}

func (p *starter) Prepare(lines []source.Line) (source.Prepared, error) {
	return &startable{p: p, lines: append([]source.Line(nil), lines...)}, nil
}

func (b *startable) Send(ctx context.Context) error { return b.Start(ctx)() }

func (b *startable) Start(ctx context.Context) func() error {
	p := b.p
	p.mu.Lock()
	p.started++
	n := p.started
	p.writing++
	p.maxWriting = max(p.maxWriting, p.writing)
	p.mu.Unlock()
	return func() error {
		time.Sleep(time.Millisecond) // the next batch is started meanwhile
		p.mu.Lock()
		p.writing--
		fail := n == p.failAt
		p.mu.Unlock()
		if fail {
			return errors.New("down")
		}
		return p.recorder.Publish(ctx, b.lines)
	}
}

// TestRunStartsTheNextBatchWhileOneIsWritten: batches that can start are started while
// the one before is being written, two at most, waited for in order (every line once, in
// order); a failed write stops the source with its error and nothing is started after
// the one already begun.
func TestRunStartsTheNextBatchWhileOneIsWritten(t *testing.T) {
	want, input := numberedLines(5000)
	p := &starter{}
	if err := New(strings.NewReader(input), Config{BatchLines: 300}).Run(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if got := p.texts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("published %d lines, want %d in order", len(got), len(want))
	}
	if p.maxWriting != inFlight {
		t.Fatalf("at most %d batches written at once, want %d", p.maxWriting, inFlight)
	}

	p = &starter{failAt: 3}
	err := New(strings.NewReader(input), Config{BatchLines: 300}).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "down") {
		t.Fatalf("err = %v, want the failed write's", err)
	}
	// The batch begun with the failed one may still be written (it was in flight).
	if n := len(p.texts()); n > (2+inFlight-1)*300 || p.started > 3+inFlight-1 {
		t.Fatalf("%d lines published, %d batches started after the third failed", n, p.started)
	}
}
