package service

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

func TestStateStore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	eng := newEngine(t)
	h := NewHandler(eng, HandlerOptions{})
	reg := prometheus.NewRegistry()
	s := NewStateStore(file, 0, eng, h, reg, zap.NewNop())
	registerStateSizes(reg, eng, h)
	if err := s.Load(); err != nil { // no file yet: a cold start
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	for _, l := range []string{"2026-01-05 10:00:00,000 ERROR [db] connection refused", "[05/Jan/2026 10:00:00] 10.0.0.7 bob executed command 'ls -la'"} {
		ev := &logwardenpb.LogEvent{}
		p.Parse(l, ev)
		eng.Process(ev)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil { // saves once at the end
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(s.saves.WithLabelValues("ok")); n != 1 {
		t.Fatalf("%v saves", n)
	}
	if n := testutil.ToFloat64(s.bytes); n == 0 {
		t.Fatal("state bytes not reported")
	}
	if got, _ := testutil.GatherAndCount(reg, "logwarden_state_templates", "logwarden_state_users"); got != 2 {
		t.Fatalf("%d size metrics", got)
	}
	fresh, err := engine.New(engine.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := NewStateStore(file, 0, fresh, NewHandler(fresh, HandlerOptions{}), nil, zap.NewNop()).Load(); err != nil {
		t.Fatal(err)
	}
	if got, want := fresh.Sizes(), eng.Sizes(); got != want || got.Templates != 2 || got.Users != 1 {
		t.Fatalf("restored %+v, want %+v", got, want)
	}
}
