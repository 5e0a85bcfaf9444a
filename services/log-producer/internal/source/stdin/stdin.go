package stdin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// Config of the stdin source.
type Config struct {
	// BatchLines is the most lines published at once (default 500).
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
		cfg.BatchLines = 500
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

// gate tells Run whether a batch is being published, and stops new batches once Run left.
type gate struct {
	mu         sync.Mutex
	publishing bool
	stopped    bool
}

// enter reports whether a batch may be published now.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	g.publishing = true
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	g.publishing = false
	g.mu.Unlock()
}

// stop forbids new batches and reports whether one is in flight.
func (g *gate) stop() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	return g.publishing
}

func pump(ctx, pctx context.Context, r io.Reader, cfg Config, pub source.Publisher, g *gate) error {
	br := bufio.NewReaderSize(r, 64<<10)
	batch := make([]source.Line, 0, cfg.BatchLines)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if !g.enter() {
			return nil
		}
		defer g.leave()
		if err := pub.Publish(pctx, batch); err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		batch = batch[:0]
		return nil
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
					batch = append(batch, source.Line{Text: string(cur), Source: "stdin"})
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
				batch = append(batch, source.Line{Text: string(cur[:cfg.MaxLineBytes+1]), Source: "stdin"})
				cur = cur[:0]
				skipping = true
			}
		default:
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return fmt.Errorf("stdin: read: %w", err)
		}
		if len(batch) >= cfg.BatchLines || (len(batch) > 0 && br.Buffered() == 0) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
