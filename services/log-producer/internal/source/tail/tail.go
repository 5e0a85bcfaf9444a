package tail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// Config of the file source.
type Config struct {
	// Paths are files or glob patterns (filepath.Match syntax); files that appear later
	// and match are picked up.
	Paths []string `mapstructure:"paths" desc:"files or globs to follow, comma-separated"`
	// StartAt is where files found at start without a saved position begin: "end"
	// (default: only new lines) or "beginning". Files that appear later start at the beginning.
	StartAt string `mapstructure:"start_at" desc:"where files without a saved position start: end or beginning"`
	// StatePath is the JSON file positions are saved in ("" keeps them in memory only).
	StatePath string `mapstructure:"state_path" desc:"JSON file the read positions are saved in (empty: not saved)"`
	// PollInterval between checks of the files (default 250 ms).
	PollInterval time.Duration `mapstructure:"poll_interval" desc:"how often the files are checked"`
	// BatchLines is the most lines published at once (default 500).
	BatchLines int `mapstructure:"batch_lines" desc:"most lines published at once"`
	// MaxLineBytes: longer lines are cut (the parser marks them truncated) and the rest of
	// the line is skipped (default 64 KiB).
	MaxLineBytes int `mapstructure:"-"`
	// Grace lets a batch being written finish after shutdown began (default 5 s).
	Grace time.Duration `mapstructure:"-"`
}

// Validate names the key of the first bad setting.
func (c Config) Validate() error {
	if len(c.Paths) == 0 {
		return errors.New("file.paths (FILE_PATHS): at least one path or glob is required with the file source")
	}
	for _, p := range c.Paths {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("file.paths (FILE_PATHS): bad pattern %q: %w", p, err)
		}
	}
	switch c.StartAt {
	case "", "end", "beginning":
	default:
		return fmt.Errorf(`file.start_at (FILE_START_AT): %q is not "end" or "beginning"`, c.StartAt)
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("file.poll_interval (FILE_POLL_INTERVAL): must be ≥ 0, got %s", c.PollInterval)
	}
	if c.BatchLines < 0 {
		return fmt.Errorf("file.batch_lines (FILE_BATCH_LINES): must be ≥ 0, got %d", c.BatchLines)
	}
	return nil
}

// Tailer is the file source: it follows the configured files. Run it once.
type Tailer struct {
	cfg   Config
	pub   source.Publisher // set by Run and Poll
	log   *zap.Logger
	files map[string]*file
	state map[string]position
	polls int
	br    *bufio.Reader
}

type file struct {
	path     string
	f        *os.File
	id       fileID
	offset   int64
	skipping bool // inside an over-long line whose head was already published
}

// New loads the saved positions.
func New(cfg Config, log *zap.Logger) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.StartAt == "" {
		cfg.StartAt = "end"
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.BatchLines == 0 {
		cfg.BatchLines = 500
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = 64 << 10
	}
	if cfg.Grace == 0 {
		cfg.Grace = 5 * time.Second
	}
	if log == nil {
		log = zap.NewNop()
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	return &Tailer{cfg: cfg, log: log, files: map[string]*file{}, state: st,
		br: bufio.NewReaderSize(nil, 64<<10)}, nil
}

// Name is "file".
func (*Tailer) Name() string { return "file" }

// Run polls until ctx ends, then closes the files. A batch being published when ctx ends
// gets Config.Grace to be acknowledged and recorded.
func (t *Tailer) Run(ctx context.Context, pub source.Publisher) error {
	t.pub = pub
	pctx, cancel := obs.GraceContext(ctx, t.cfg.Grace)
	defer cancel()
	defer t.Close()
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := t.poll(ctx, pctx); err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Poll checks every file once and publishes what is new (for tests and tools).
func (t *Tailer) Poll(ctx context.Context, pub source.Publisher) error {
	t.pub = pub
	return t.poll(ctx, ctx)
}

// Close closes the open files.
func (t *Tailer) Close() {
	for _, tf := range t.files {
		tf.f.Close()
	}
	t.files = map[string]*file{}
}

func (t *Tailer) poll(ctx, pctx context.Context) error {
	first := t.polls == 0
	t.polls++
	seen := map[string]bool{}
	var paths []string
	for _, pat := range t.cfg.Paths {
		matches, _ := filepath.Glob(pat) // patterns were validated
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				paths = append(paths, m)
			}
		}
	}
	for p := range t.files {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		if ctx.Err() != nil {
			return nil
		}
		if err := t.pollFile(ctx, pctx, p, first); err != nil {
			if pctx.Err() != nil {
				return err
			}
			t.log.Warn("tail: skipping file this poll", zap.String("path", p), zap.Error(err))
		}
	}
	return nil
}

func (t *Tailer) pollFile(ctx, pctx context.Context, path string, first bool) error {
	tf := t.files[path]
	fi, statErr := os.Stat(path)
	if tf == nil {
		if statErr != nil || fi.IsDir() {
			return nil
		}
		var err error
		if tf, err = t.open(path, first); err != nil {
			return err
		}
		t.files[path] = tf
	}
	switch {
	case statErr == nil && idOf(fi) != tf.id:
		// Rotated (renamed, a new file created at the path): finish the old file, including
		// a last line without newline, then follow the new one from its beginning.
		if err := t.drain(ctx, pctx, tf, true); err != nil {
			return err
		}
		tf.f.Close()
		delete(t.files, path)
		ntf, err := t.open(path, false)
		if err != nil {
			return err
		}
		t.files[path] = ntf
		t.log.Info("tail: file rotated", zap.String("path", path))
		tf = ntf
	case statErr == nil:
		if cur, err := tf.f.Stat(); err == nil && cur.Size() < tf.offset {
			t.log.Info("tail: file truncated, reading from the start", zap.String("path", path))
			tf.offset, tf.skipping = 0, false
		}
	}
	// A renamed file without successor yet may still be written to: keep reading it.
	return t.drain(ctx, pctx, tf, false)
}

func (t *Tailer) open(path string, first bool) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat: %w", err)
	}
	tf := &file{path: path, f: f, id: idOf(fi)}
	switch saved, ok := t.state[path]; {
	case ok && saved.ID == tf.id && saved.Offset <= fi.Size():
		tf.offset = saved.Offset
	case first && t.cfg.StartAt == "end":
		tf.offset = fi.Size()
	}
	t.log.Info("tail: following", zap.String("path", path), zap.Int64("offset", tf.offset))
	return tf, nil
}

// drain publishes tf's complete lines (and with final, a last line without newline) in
// batches, saving the position after each acknowledged batch.
func (t *Tailer) drain(ctx, pctx context.Context, tf *file, final bool) error {
	for {
		texts, starts, consumed, eof, err := t.readBatch(tf, final)
		if err != nil {
			return err
		}
		if len(texts) > 0 {
			lines := make([]source.Line, len(texts))
			for i, s := range texts {
				lines[i] = source.Line{Text: s, Source: "file:" + tf.path,
					IDKey: fmt.Sprintf("file:%d:%d:%d", tf.id.Dev, tf.id.Ino, starts[i])}
			}
			if err := t.pub.Publish(pctx, lines); err != nil {
				return err
			}
		}
		if consumed > 0 {
			tf.offset += consumed
			t.state[tf.path] = position{Path: tf.path, ID: tf.id, Offset: tf.offset}
			if err := saveState(t.cfg.StatePath, t.state); err != nil {
				return err
			}
		}
		if eof || ctx.Err() != nil {
			return nil
		}
	}
}

// readBatch reads up to BatchLines lines from tf's position, with the file offset each
// line starts at. consumed counts the bytes behind them (and skipped bytes); an incomplete
// last line is not consumed unless final.
func (t *Tailer) readBatch(tf *file, final bool) (texts []string, starts []int64, consumed int64, eof bool, err error) {
	if _, err := tf.f.Seek(tf.offset, io.SeekStart); err != nil {
		return nil, nil, 0, false, fmt.Errorf("seek: %w", err)
	}
	start := tf.offset // where the line being read began
	emit := func(s string) {
		texts = append(texts, s)
		starts = append(starts, start)
	}
	t.br.Reset(tf.f)
	max := t.cfg.MaxLineBytes
	var cur []byte
	for len(texts) < t.cfg.BatchLines {
		chunk, err := t.br.ReadSlice('\n')
		switch {
		case err == nil:
			consumed += int64(len(chunk))
			if tf.skipping {
				tf.skipping = false
				start = tf.offset + consumed
				continue
			}
			cur = append(cur, chunk[:len(chunk)-1]...)
			if len(cur) > max {
				cur = cur[:max+1]
			}
			if len(cur) > 0 && !(len(cur) == 1 && cur[0] == '\r') {
				emit(string(cur))
			}
			cur = cur[:0]
			start = tf.offset + consumed
		case errors.Is(err, bufio.ErrBufferFull):
			consumed += int64(len(chunk))
			if tf.skipping {
				continue
			}
			cur = append(cur, chunk...)
			if len(cur) > max {
				// Publish the head now (the parser cuts it and marks it truncated) and skip
				// the rest of the line, so memory stays bounded whatever the line's length.
				emit(string(cur[:max+1]))
				cur = cur[:0]
				tf.skipping = true
			}
		case errors.Is(err, io.EOF):
			if final {
				consumed += int64(len(chunk))
				if !tf.skipping {
					cur = append(cur, chunk...)
					if len(cur) > 0 {
						emit(string(cur[:min(len(cur), max+1)]))
					}
				}
				tf.skipping = false
			} else if !tf.skipping {
				consumed -= int64(len(cur)) // read again next poll, when the line is complete
			}
			return texts, starts, consumed, true, nil
		default:
			return nil, nil, 0, false, fmt.Errorf("read: %w", err)
		}
	}
	return texts, starts, consumed, false, nil
}
