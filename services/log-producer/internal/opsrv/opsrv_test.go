package opsrv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_test_total", Help: "x"})
	reg.MustRegister(c)
	c.Inc()
	var up atomic.Bool
	s := NewServer("127.0.0.1:0", reg, func(context.Context) error {
		if !up.Load() {
			return errors.New("kafka down")
		}
		return nil
	}, nil)
	s.Handle("/v1/x", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mounted") }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr()
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "kafka down") {
		t.Fatalf("readyz %d %q", code, body)
	}
	up.Store(true)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "logwarden_test_total 1") {
		t.Fatalf("metrics %d", code)
	}
	if _, body := get(t, base+"/v1/x"); body != "mounted" {
		t.Fatalf("mounted handler: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestServerListenError(t *testing.T) {
	s := NewServer("256.0.0.1:99999", NewRegistry(), nil, nil)
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "http.addr") {
		t.Fatalf("Run = %v", err)
	}
}

func TestLogger(t *testing.T) {
	var b bytes.Buffer
	log, err := NewLogger(LogConfig{Level: "warn", Format: "json"}, &b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if s := b.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Fatalf("log = %q", s)
	}
	for _, c := range []LogConfig{{Level: "loud"}, {Level: "info", Format: "xml"}} {
		if _, err := NewLogger(c, &b); err == nil || !strings.Contains(err.Error(), "LOG_") {
			t.Errorf("NewLogger(%+v) = %v", c, err)
		}
	}
}
