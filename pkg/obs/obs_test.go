package obs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/obs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLogConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    obs.LogConfig
		want string // error text; "" = valid
	}{
		{"default", obs.DefaultLogConfig(), ""},
		{"debug json", obs.LogConfig{Level: "debug", Format: "json"}, ""},
		{"bad level", obs.LogConfig{Level: "loud", Format: "json"}, `log.level: "loud" is not debug, info, warn or error`},
		{"empty level", obs.LogConfig{Format: "json"}, `log.level: "" is not debug, info, warn or error`},
		{"bad format", obs.LogConfig{Level: "info", Format: "xml"}, `log.format: "xml" is not console or json`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
			if _, nerr := obs.NewLogger(tc.c, io.Discard); (nerr == nil) != (tc.want == "") {
				t.Errorf("NewLogger error = %v, want error %v", nerr, tc.want != "")
			}
		})
	}
}

var iso8601 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-Z]`)

func TestNewLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := obs.NewLogger(obs.LogConfig{Level: "info", Format: "json"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("published", zap.String("topic", "logs.raw"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, lines[0])
	}
	if rec["level"] != "info" || rec["msg"] != "published" || rec["topic"] != "logs.raw" {
		t.Errorf("record = %v", rec)
	}
	if ts, _ := rec["time"].(string); !iso8601.MatchString(ts) {
		t.Errorf("time %q is not ISO8601", rec["time"])
	}
}

func TestNewLoggerConsole(t *testing.T) {
	var buf bytes.Buffer
	log, err := obs.NewLogger(obs.LogConfig{Level: "warn", Format: "console"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("slow broker")
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, "WARN") || !strings.Contains(out, "slow broker") {
		t.Errorf("console output = %q", out)
	}
	if !iso8601.MatchString(out) {
		t.Errorf("console line does not start with an ISO8601 time: %q", out)
	}
}

// startServer runs a server on :0 and returns its base URL and a stop function that
// cancels Run and returns its error.
func startServer(t *testing.T, reg *prometheus.Registry, ready func(context.Context) error, extra map[string]http.Handler) (string, func() error) {
	t.Helper()
	s, err := obs.NewServer("127.0.0.1:0", reg, ready, nil)
	if err != nil {
		t.Fatal(err)
	}
	for p, h := range extra {
		s.Handle(p, h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + s.Addr(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServerEndpoints(t *testing.T) {
	reg := obs.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "logwarden_test_events_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)

	var notReady atomic.Pointer[error]
	errDown := errors.New("kafka: dial 127.0.0.1:9092: connection refused")
	notReady.Store(&errDown)
	var sawDeadline atomic.Bool
	ready := func(ctx context.Context) error {
		_, ok := ctx.Deadline()
		sawDeadline.Store(ok)
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	}
	ingest := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
	base, stop := startServer(t, reg, ready, map[string]http.Handler{"POST /v1/logs": ingest})

	steps := []struct {
		name       string
		do         func()
		path       string
		wantStatus int
		wantBody   string // substring
	}{
		{"healthz", nil, "/healthz", 200, "ok"},
		{"readyz while not ready", nil, "/readyz", 503, "not ready: kafka: dial 127.0.0.1:9092: connection refused"},
		{"readyz once ready", func() { notReady.Store(nil) }, "/readyz", 200, "ready"},
		{"readyz not ready again", func() { notReady.Store(&errDown) }, "/readyz", 503, "connection refused"},
		{"metrics has the counter", nil, "/metrics", 200, "logwarden_test_events_total 3"},
		{"metrics has go collector", nil, "/metrics", 200, "go_goroutines"},
		{"unknown path", nil, "/nope", 404, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.do != nil {
				st.do()
			}
			code, body := get(t, base+st.path)
			if code != st.wantStatus || !strings.Contains(body, st.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", st.path, code, body, st.wantStatus, st.wantBody)
			}
		})
	}
	if !sawDeadline.Load() {
		t.Error("ready func got a context without deadline")
	}

	resp, err := http.Post(base+"/v1/logs", "text/plain", strings.NewReader("line"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST /v1/logs = %d, want 202 from the mounted handler", resp.StatusCode)
	}

	if err := stop(); err != nil {
		t.Fatalf("Run returned %v after cancel, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after Run returned")
	}
}

func TestServerNilRegistryAndReady(t *testing.T) {
	base, _ := startServer(t, nil, nil, nil)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz without a ready func = %d, want 200", code)
	}
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics without a registry = %d, want 404", code)
	}
}

func TestRunWaitsForRequestInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	base, stop := startServer(t, nil, nil, map[string]http.Handler{"GET /slow": slow})
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Errorf("request in flight during shutdown: %q, %v", r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestNewServerListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = obs.NewServer(ln.Addr().String(), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("err = %v, want a listen error naming %s", err, ln.Addr())
	}
}

func TestCloseWithoutRun(t *testing.T) {
	s, err := obs.NewServer("127.0.0.1:0", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("address still bound after Close: %v", err)
	}
	ln.Close()
}
