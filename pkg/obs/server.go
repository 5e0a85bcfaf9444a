package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

const (
	readyTimeout    = 2 * time.Second
	shutdownTimeout = 5 * time.Second
)

// NewRegistry is a fresh registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Server serves /healthz, /readyz and /metrics, plus the handlers given to Handle.
type Server struct {
	mux *http.ServeMux
	ln  net.Listener
	srv *http.Server
	log *zap.Logger
}

// NewServer binds addr now (":0" picks a free port, see Addr). ready, if not nil, is
// asked by /readyz with a 2 s timeout; reg, if not nil, is served on /metrics.
func NewServer(addr string, reg *prometheus.Registry, ready func(context.Context) error, log *zap.Logger) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("obs: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	return &Server{
		mux: mux,
		ln:  ln,
		log: log,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          zap.NewStdLog(log.Named("http")),
		},
	}, nil
}

// Handle mounts h on pattern (net/http ServeMux syntax, e.g. "POST /v1/logs"); call it
// before Run.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr is the bound address, e.g. "127.0.0.1:43117" for ":0".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close releases the listener of a server whose Run was never called.
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx is cancelled, then shuts down gracefully, waiting at most 5 s
// for requests in flight. It returns nil on a clean stop.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.log.Info("http server listening", zap.String("addr", s.Addr()))
	select {
	case err := <-errc:
		return fmt.Errorf("obs: http server on %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutErr := s.srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("obs: http server on %s: %w", s.Addr(), err)
	}
	if shutErr != nil {
		_ = s.srv.Close()
		return fmt.Errorf("obs: http server shutdown: %w", shutErr)
	}
	return nil
}

// HTTPConfig is a service's ops server (key "http": HTTP_ADDR): /healthz, /readyz and
// /metrics. Services embed it and add their own keys beside it.
type HTTPConfig struct {
	Addr string `mapstructure:"addr" desc:"listen address of /healthz, /readyz and /metrics"`
}

// Validate names the key when the address is missing.
func (c HTTPConfig) Validate() error {
	if c.Addr == "" {
		return errors.New("http.addr (HTTP_ADDR): required")
	}
	return nil
}
