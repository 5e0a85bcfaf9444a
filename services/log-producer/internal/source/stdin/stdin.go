package stdin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// Config of the stdin source.
type Config struct {
	// BatchLines is the most lines published at once (default 12000). A batch is sent as
	// soon as no more input is waiting, so a slow trickle is never held back.
	BatchLines int
	// MaxLineBytes: longer lines are cut (the parser marks them truncated) and the rest of
	// the line is skipped (default 64 KiB).
	MaxLineBytes int
	// Grace lets a batch being written finish after shutdown began (default 5 s).
	Grace time.Duration
}

// Stdin is the stdin source: the lines of a reader, with source "stdin".
type Stdin struct {
	r   io.Reader
	cfg Config
}

// New returns the source reading r.
func New(r io.Reader, cfg Config) *Stdin { return &Stdin{r: r, cfg: cfg} }

// Name is "stdin".
func (*Stdin) Name() string { return "stdin" }

// Run publishes the reader's lines until EOF (then it returns nil, after the last batch
// was acknowledged) or until ctx ends. A read blocked on an idle terminal or pipe cannot
// be interrupted: when ctx ends Run returns at once and leaves that read to end with the
// process.
func (s *Stdin) Run(ctx context.Context, pub source.Publisher) error {
	r, cfg := s.r, s.cfg
	if cfg.BatchLines <= 0 {
		cfg.BatchLines = 12000
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = 64 << 10
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 5 * time.Second
	}
	pctx, cancel := obs.GraceContext(ctx, cfg.Grace)
	defer cancel()
	g := &gate{}
	done := make(chan error, 1)
	go func() { done <- pump(ctx, pctx, r, cfg, pub, g) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Wait for a batch in flight (bounded by the grace period), not for a blocked read.
		if !g.stop() {
			return nil
		}
		select {
		case err := <-done:
			return err
		case <-pctx.Done():
			return nil
		}
	}
}

// gate tells Run whether batches are being published, and stops new batches once Run left.
type gate struct {
	mu         sync.Mutex
	publishing int
	stopped    bool
}

// enter reports whether a batch may be published now.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.publishing++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	g.publishing--
	g.mu.Unlock()
}

// stop forbids new batches and reports whether one is in flight.
func (g *gate) stop() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	return g.publishing > 0
}

// sender writes prepared batches in order from its own goroutines, so that the pump
// parses and encodes the next batch while earlier ones are written. A batch that can start
// (source.Starter) begins while the one before is still being written, its lines after
// that one's per key; at most two are being written, then handing over waits.
type sender struct {
	q    chan source.Prepared
	done chan error // the first error, then closed
	g    *gate
}

// inFlight is how many batches are being written at once.
const inFlight = 2

func newSender(ctx context.Context, g *gate) *sender {
	s := &sender{q: make(chan source.Prepared), done: make(chan error, 1), g: g}
	go func() { // owned by pump: closed and awaited by wait
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		slots := make(chan struct{}, inFlight)
		started := make(chan func() error, inFlight) // each batch's wait, in order
		var failed atomic.Bool
		finished := make(chan struct{})
		go func() { // owned by this goroutine: awaited below
			defer close(finished)
			for finish := range started {
				if err := finish(); err != nil && !failed.Load() {
					failed.Store(true)
					cancel() // the batch started after it stops retrying
					s.done <- fmt.Errorf("stdin: %w", err)
				}
				<-slots
				g.leave()
			}
		}()
		for b := range s.q {
			if failed.Load() {
				g.leave()
				continue
			}
			slots <- struct{}{}
			if failed.Load() { // while waiting for the slot
				<-slots
				g.leave()
				continue
			}
			if st, ok := b.(source.Starter); ok {
				started <- st.Start(ctx)
			} else {
				started <- func() error {
					if failed.Load() { // not begun: not sent after a failure
						return nil
					}
					return b.Send(ctx)
				}
			}
		}
		close(started)
		<-finished
		close(s.done)
	}()
	return s
}

// send hands b over; it fails with the first error of an earlier batch.
func (s *sender) send(b source.Prepared) error {
	select {
	case s.q <- b:
		return nil
	case err := <-s.done:
		s.g.leave()
		close(s.q)
		for range s.done {
		}
		s.q = nil
		return err
	}
}

// wait waits until every batch handed over was written and returns the first error.
func (s *sender) wait() error {
	if s.q == nil {
		return nil
	}
	close(s.q)
	err := <-s.done
	for range s.done {
	}
	return err
}

func pump(ctx, pctx context.Context, r io.Reader, cfg Config, pub source.Publisher, g *gate) (err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	batch := make([]source.Line, 0, cfg.BatchLines)
	var pending lineBuffer
	prep, pipelined := pub.(source.Preparer)
	var snd *sender
	if pipelined {
		snd = newSender(pctx, g)
		defer func() {
			if werr := snd.wait(); err == nil {
				err = werr
			}
		}()
	}
	flush := func() error {
		if pending.len() == 0 {
			return nil
		}
		batch = pending.lines(batch[:0])
		if !g.enter() {
			return nil
		}
		if !pipelined {
			defer g.leave()
			if err := pub.Publish(pctx, batch); err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
			batch = batch[:0]
			return nil
		}
		b, err := prep.Prepare(batch)
		if err != nil || b == nil {
			g.leave()
			if err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
			batch = batch[:0]
			return nil
		}
		batch = batch[:0]
		return snd.send(b)
	}
	var cur []byte
	skipping := false
	for {
		if ctx.Err() != nil {
			return flush()
		}
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil || errors.Is(err, io.EOF):
			if skipping {
				skipping = false
			} else {
				cur = append(cur, chunk...)
				if n := len(cur); n > 0 && cur[n-1] == '\n' {
					cur = cur[:n-1]
				}
				if len(cur) > cfg.MaxLineBytes {
					cur = cur[:cfg.MaxLineBytes+1]
				}
				if len(cur) > 0 && !(len(cur) == 1 && cur[0] == '\r') { // blank lines are no events
					pending.add(cur)
				}
			}
			cur = cur[:0]
			if err != nil { // EOF
				return flush()
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if skipping {
				continue
			}
			cur = append(cur, chunk...)
			if len(cur) > cfg.MaxLineBytes {
				pending.add(cur[:cfg.MaxLineBytes+1])
				cur = cur[:0]
				skipping = true
			}
		default:
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return fmt.Errorf("stdin: read: %w", err)
		}
		if pending.len() >= cfg.BatchLines || (pending.len() > 0 && br.Buffered() == 0) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// lineBuffer collects the lines of the next batch in one buffer, so that a batch's texts
// are one string (one allocation per batch rather than per line).
type lineBuffer struct {
	text []byte
	ends []int
}

func (b *lineBuffer) add(line []byte) {
	b.text = append(b.text, line...)
	b.ends = append(b.ends, len(b.text))
}

func (b *lineBuffer) len() int { return len(b.ends) }

// lines appends the collected lines to dst and empties the buffer.
func (b *lineBuffer) lines(dst []source.Line) []source.Line {
	text, start := string(b.text), 0
	for _, end := range b.ends {
		dst = append(dst, source.Line{Text: text[start:end], Source: "stdin"})
		start = end
	}
	b.text, b.ends = b.text[:0], b.ends[:0]
	return dst
}
