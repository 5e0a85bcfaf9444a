package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// recorder is a Publisher that keeps what it was given; failing makes it fail.
type recorder struct {
	lines   []source.Line
	failing bool
}

func (r *recorder) Publish(ctx context.Context, lines []source.Line) error {
	if r.failing {
		return errors.New("kafka down")
	}
	r.lines = append(r.lines, lines...)
	return nil
}

func (r *recorder) texts() []string {
	out := make([]string, len(r.lines))
	for i, l := range r.lines {
		out[i] = l.Text
	}
	return out
}

func appendTo(t *testing.T, path string, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// bound is a Tailer with the publisher its polls write to.
type bound struct {
	*Tailer
	pub source.Publisher
}

func (b bound) Poll(ctx context.Context) error { return b.Tailer.Poll(ctx, b.pub) }

func newTailer(t *testing.T, cfg Config, pub source.Publisher) bound {
	t.Helper()
	tl, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tl.Close)
	return bound{tl, pub}
}

func poll(t *testing.T, tl bound) {
	t.Helper()
	if err := tl.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func equal(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines = %q, want %q", got, want)
	}
}

func TestStartAtEndAndBeginning(t *testing.T) {
	for _, tt := range []struct {
		startAt string
		want    []string
	}{
		{"end", []string{"new"}},
		{"beginning", []string{"old1", "old2", "new"}},
	} {
		t.Run(tt.startAt, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendTo(t, path, "old1\nold2\n")
			rec := &recorder{}
			tl := newTailer(t, Config{Paths: []string{path}, StartAt: tt.startAt}, rec)
			poll(t, tl)
			appendTo(t, path, "new\n")
			poll(t, tl)
			equal(t, rec.texts(), tt.want...)
			if rec.lines[0].Source != "file:"+path {
				t.Fatalf("source = %q", rec.lines[0].Source)
			}
		})
	}
}

func TestPartialLineWaitsForItsNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}}, rec)
	poll(t, tl)
	appendTo(t, path, "one\ntw")
	poll(t, tl)
	equal(t, rec.texts(), "one")
	appendTo(t, path, "o\r\n\nthree\n")
	poll(t, tl)
	equal(t, rec.texts(), "one", "two\r", "three")
}

func TestRotationByRenameAndCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}}, rec)
	poll(t, tl)
	appendTo(t, path, "a1\na2\n")
	poll(t, tl)
	// The writer appends more, including a last line without newline, then logrotate
	// renames the file and a new one is created and written before our next poll.
	appendTo(t, path, "a3\na4-no-newline")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "b1\nb2\n")
	poll(t, tl)
	equal(t, rec.texts(), "a1", "a2", "a3", "a4-no-newline", "b1", "b2")
	appendTo(t, path, "b3\n")
	poll(t, tl)
	equal(t, rec.texts(), "a1", "a2", "a3", "a4-no-newline", "b1", "b2", "b3")
}

func TestRenamedFileIsReadUntilItsSuccessorAppears(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}}, rec)
	poll(t, tl)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path+".1", "late write to the old file\n")
	poll(t, tl)
	equal(t, rec.texts(), "late write to the old file")
	appendTo(t, path, "new file\n")
	poll(t, tl)
	equal(t, rec.texts(), "late write to the old file", "new file")
}

func TestTruncationStartsOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}}, rec)
	poll(t, tl)
	appendTo(t, path, "first line that is long\n")
	poll(t, tl)
	if err := os.Truncate(path, 0); err != nil { // copytruncate
		t.Fatal(err)
	}
	appendTo(t, path, "after\n")
	poll(t, tl)
	equal(t, rec.texts(), "first line that is long", "after")
}

func TestRestartResumesFromSavedState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state.json")
	var want []string
	for i := 0; i < 25; i++ {
		want = append(want, fmt.Sprintf("line %d", i))
	}
	appendTo(t, path, strings.Join(want[:10], "\n")+"\n")
	cfg := Config{Paths: []string{path}, StartAt: "beginning", StatePath: state, BatchLines: 3}

	rec := &recorder{}
	tl := newTailer(t, cfg, rec)
	poll(t, tl)
	tl.Close()

	// Kafka down while lines arrive: nothing is recorded as done.
	appendTo(t, path, strings.Join(want[10:20], "\n")+"\n")
	down := &recorder{failing: true}
	tl2 := newTailer(t, cfg, down)
	if err := tl2.Poll(context.Background()); err != nil {
		t.Fatal(err) // a failing file is logged and skipped, not fatal
	}
	tl2.Close()

	appendTo(t, path, strings.Join(want[20:], "\n")+"\n")
	tl3 := newTailer(t, cfg, rec)
	poll(t, tl3)
	equal(t, rec.texts(), want...)
}

func TestStateOfAnotherFileIsIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state.json")
	appendTo(t, path, "a\nb\n")
	cfg := Config{Paths: []string{path}, StartAt: "beginning", StatePath: state}
	rec := &recorder{}
	tl := newTailer(t, cfg, rec)
	poll(t, tl)
	tl.Close()
	// The file was replaced while we were down: its saved position belongs to the old one.
	os.Remove(path)
	appendTo(t, path, "c\n")
	tl2 := newTailer(t, cfg, rec)
	poll(t, tl2)
	equal(t, rec.texts(), "a", "b", "c")
}

func TestGlobPicksUpNewFilesFromTheirBeginning(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "a.log"), "a-old\n")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{filepath.Join(dir, "*.log")}}, rec)
	poll(t, tl)
	appendTo(t, filepath.Join(dir, "b.log"), "b1\n")
	appendTo(t, filepath.Join(dir, "a.log"), "a1\n")
	appendTo(t, filepath.Join(dir, "ignored.txt"), "x\n")
	poll(t, tl)
	equal(t, rec.texts(), "a1", "b1")
}

func TestLongLinesAreCutAndTheRestSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}, MaxLineBytes: 10}, rec)
	poll(t, tl)
	long := strings.Repeat("x", 200<<10) // longer than the read buffer too
	appendTo(t, path, "short\n"+long+"\nafter\n"+strings.Repeat("y", 15)+"\n")
	poll(t, tl)
	equal(t, rec.texts(), "short", strings.Repeat("x", 11), "after", strings.Repeat("y", 11))
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "file.paths"},
		{Config{Paths: []string{"[x"}}, "bad pattern"},
		{Config{Paths: []string{"x"}, StartAt: "middle"}, "file.start_at"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestLinesCarryTheirFileOffsetAsIDKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "ab\n\ncd\n"+strings.Repeat("z", 30)+"\nef\n")
	rec := &recorder{}
	tl := newTailer(t, Config{Paths: []string{path}, StartAt: "beginning", MaxLineBytes: 5}, rec)
	poll(t, tl)
	var offsets []string
	for _, l := range rec.lines {
		parts := strings.Split(l.IDKey, ":")
		offsets = append(offsets, parts[len(parts)-1])
		if !strings.HasPrefix(l.IDKey, "file:") || len(parts) != 4 {
			t.Fatalf("IDKey %q", l.IDKey)
		}
	}
	// "ab\n" at 0, "\n" at 3, "cd\n" at 4, 30 z + "\n" at 7, "ef\n" at 38.
	equal(t, offsets, "0", "4", "7", "38")
}
