//go:build integration

package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

// stopAfter wraps a publisher and cancels the run once n lines were acknowledged.
type stopAfter struct {
	pub    *publish.Publisher
	mu     sync.Mutex
	n      int
	done   int
	cancel context.CancelFunc
}

func (s *stopAfter) Publish(ctx context.Context, lines []source.Line) error {
	if err := s.pub.Publish(ctx, lines); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done += len(lines)
	if s.n > 0 && s.done >= s.n {
		s.cancel()
	}
	return nil
}

// TestRestartMidFileNeitherLosesNorDuplicates stops the tail source in the middle of a
// file (after 600 of 2000 lines were acknowledged, while more are appended), starts a new
// one with the same state file, and checks that logs.raw holds every line exactly once.
func TestRestartMidFileNeitherLosesNorDuplicates(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pub := publish.New(w, publish.Options{Topic: topic})

	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	var want []string
	for i := 0; i < 2000; i++ {
		want = append(want, fmt.Sprintf("Nov 24 06:%02d:%02d web%d sshd[%d]: Failed password for user%d from 10.0.0.%d port %d ssh2",
			i/60%60, i%60, i%3, 1000+i, i%40, i%250, 40000+i))
	}
	if err := os.WriteFile(path, []byte(strings.Join(want[:1500], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tcfg := Config{Paths: []string{filepath.Join(dir, "*.log")}, StartAt: "beginning",
		StatePath: filepath.Join(dir, "state.json"), BatchLines: 100, PollInterval: 20 * time.Millisecond}

	ctx1, cancel1 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel1()
	first := &stopAfter{pub: pub, n: 600, cancel: cancel1}
	tl1, err := New(tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl1.Run(ctx1, first); err != nil {
		t.Fatal(err)
	}
	if first.done < 600 || first.done >= 1500 {
		t.Fatalf("first run published %d lines, want to stop mid-file", first.done)
	}
	appendTo(t, path, strings.Join(want[1500:], "\n")+"\n")

	ctx2, cancel2 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel2()
	second := &stopAfter{pub: pub, n: 2000 - first.done, cancel: cancel2}
	tl2, err := New(tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl2.Run(ctx2, second); err != nil {
		t.Fatal(err)
	}

	kafkatest.ReadN(t, cfg, topic, 2000, 30*time.Second)
	// Everything on the topic (duplicates included): read until the topic stays quiet.
	rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer rcancel()
	msgs, err := kafkax.ReadTopicUntil(rctx, cfg, topic, func(kafkax.Message) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		ev := &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, ev); err != nil {
			t.Fatal(err)
		}
		seen[ev.GetRaw()]++
		if string(m.Key) != ev.GetUser() || ev.GetSource() != "file:"+path || ev.GetAction() != "login_failed" {
			t.Fatalf("message key %q event %v", m.Key, ev)
		}
	}
	for i, l := range want {
		if seen[l] != 1 {
			t.Fatalf("line %d seen %d times: %q", i, seen[l], l)
		}
	}
	if len(msgs) != 2000 {
		t.Fatalf("%d messages on the topic, want 2000", len(msgs))
	}
}
