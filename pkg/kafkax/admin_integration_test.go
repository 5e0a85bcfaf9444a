//go:build integration

package kafkax_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
)

func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// settled waits (bounded) for goroutines that are finishing to be gone, so the count
// compares what stays, not what is still unwinding.
func settled(limit int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 50 && n > limit; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestReadinessDoesNotLeak: /readyz backed by one Admin, asked 2,000 times, keeps the
// process's open files and goroutines flat (a client per probe added one transport, one
// connection and two goroutines each time: +2,000 FDs, +4,000 goroutines).
func TestReadinessDoesNotLeak(t *testing.T) {
	cfg := kafkatest.Config(t)
	admin, err := kafkax.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := obs.NewServer("127.0.0.1:0", nil, admin.Ping, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	client := &http.Client{Timeout: 5 * time.Second}
	probe := func() {
		t.Helper()
		resp, err := client.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz = %d %s", resp.StatusCode, body)
		}
	}
	for i := 0; i < 10; i++ { // warm up: the admin's connection, the HTTP keep-alive connection
		probe()
	}
	fds, gs := openFDs(t), settled(0)
	const probes = 2000
	for i := 0; i < probes; i++ {
		probe()
	}
	fdsAfter, gsAfter := openFDs(t), settled(gs+5)
	t.Logf("%d readiness checks: open FDs %d → %d, goroutines %d → %d", probes, fds, fdsAfter, gs, gsAfter)
	if fdsAfter > fds+5 {
		t.Errorf("open FDs grew from %d to %d over %d readiness checks", fds, fdsAfter, probes)
	}
	if gsAfter > gs+5 {
		t.Errorf("goroutines grew from %d to %d over %d readiness checks", gs, gsAfter, probes)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	client.CloseIdleConnections()
	if err := admin.Close(); err != nil {
		t.Fatal(err)
	}
	// Close gives everything back: the transport's metadata goroutine and connections.
	if n := settled(gs); n > gs {
		t.Errorf("%d goroutines after Close, %d before the checks", n, gs)
	}
}

// TestAdminPingBrokerDown: Ping reports an unreachable broker (it must not answer from a
// metadata cache).
func TestAdminPingBrokerDown(t *testing.T) {
	cfg := kafkax.DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"}
	a, err := kafkax.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := a.Ping(ctx); err == nil {
		t.Fatal("Ping of 127.0.0.1:1 = nil, want an error")
	}
}

func TestAdminMaxMessageBytes(t *testing.T) {
	cfg := kafkatest.Config(t)
	small := kafkatest.NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: 1, MaxMessageBytes: 64 << 10})
	plain := kafkatest.NewTopic(t, cfg, 1)
	a := kafkatest.Admin(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tests := []struct {
		name, topic string
		want        int
	}{
		{"topic override", small, 64 << 10},
		{"broker default", plain, kafkax.DefaultMaxMessageBytes},
		{"missing topic: the broker's limit", kafkatest.UniqueName("missing"), kafkax.DefaultMaxMessageBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.MaxMessageBytes(ctx, tc.topic)
			if err != nil || got != tc.want {
				t.Errorf("MaxMessageBytes(%s) = %d, %v; want %d", tc.topic, got, err, tc.want)
			}
		})
	}
}
