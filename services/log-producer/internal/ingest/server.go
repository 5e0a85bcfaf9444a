package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/services/log-producer/internal/source"
)

const (
	// tokensPoll is how often the token file is read again (a rotated Kubernetes Secret
	// reaches the pod without a restart).
	tokensPoll = 10 * time.Second
	// shutdownGrace is how long requests in flight get when the service stops.
	shutdownGrace = 5 * time.Second
)

// Server is the HTTP ingest source: it owns the ingest listener, separate from the ops
// port (/healthz, /readyz, /metrics), and serves only POST /v1/logs.
type Server struct {
	cfg     Config
	ln      net.Listener
	tokens  *Tokens
	log     *zap.Logger
	metrics *Metrics
}

// New checks cfg, loads the tokens and the TLS files and binds the listener, so that
// every configuration error shows at start.
func New(cfg Config, log *zap.Logger, m *Metrics) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: log, metrics: m}
	if cfg.TokensFile != "" {
		t, err := LoadTokens(cfg.TokensFile)
		if err != nil {
			return nil, err
		}
		s.tokens = t
	}
	tc, err := cfg.TLS.server()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ingest.addr (INGEST_ADDR): %w", err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	s.ln = ln
	s.announce()
	return s, nil
}

// announce logs how clients are authenticated, loudly when nobody is asked and the
// listener is reachable from other machines.
func (s *Server) announce() {
	var auth []string
	if s.tokens != nil {
		auth = append(auth, fmt.Sprintf("bearer token (%d)", s.tokens.Len()))
	}
	if s.cfg.TLS.ClientCAFile != "" {
		auth = append(auth, "client certificate")
	}
	scheme := "http"
	if s.cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	url := scheme + "://" + s.Addr() + Path
	if len(auth) > 0 {
		s.log.Info("ingest API listening", zap.String("url", url), zap.Strings("auth", auth))
		return
	}
	if loopback(s.ln.Addr()) {
		s.log.Info("ingest API listening on loopback without authentication", zap.String("url", url))
		return
	}
	s.log.Warn("INGEST API WITHOUT AUTHENTICATION on a non-loopback address: anyone who reaches "+s.Addr()+
		" can write events to Kafka. Set ingest.tokens_file (INGEST_TOKENS_FILE) and/or ingest.tls.client_ca_file, "+
		"or bind ingest.addr (INGEST_ADDR) to 127.0.0.1", zap.String("url", url))
}

func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Name is "http".
func (*Server) Name() string { return "http" }

// Addr is the bound address, e.g. "127.0.0.1:43117" for port 0.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close releases the listener of a server whose Run was never called.
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx ends, then gives requests in flight 5 s to finish. It re-reads
// the token file every 10 s; a file that became invalid is logged and the previous
// tokens stay.
func (s *Server) Run(ctx context.Context, pub source.Publisher) error {
	h := NewHandler(s.cfg, pub, s.tokens, s.log, s.metrics)
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // slow clients
		WriteTimeout:      30*time.Second + s.cfg.PublishTimeout + time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(s.log.Named("ingest")),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()
	var tick <-chan time.Time
	if s.tokens != nil {
		t := time.NewTicker(tokensPoll)
		defer t.Stop()
		tick = t.C
	}
loop:
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("ingest API on %s: %w", s.Addr(), err)
		case <-tick:
			if changed, err := s.tokens.Reload(); err != nil {
				s.log.Error("ingest: token file unreadable; keeping the previous tokens", zap.Error(err))
			} else if changed {
				s.log.Info("ingest: tokens reloaded", zap.Int("tokens", s.tokens.Len()))
			}
		case <-ctx.Done():
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ingest API on %s: %w", s.Addr(), err)
	}
	if shutErr != nil {
		_ = srv.Close()
		return fmt.Errorf("ingest API shutdown: %w", shutErr)
	}
	return nil
}

// server is the TLS configuration of the listener (nil: plain HTTP).
func (c TLSConfig) server() (*tls.Config, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("ingest.tls.cert_file/key_file (INGEST_TLS_CERT_FILE, INGEST_TLS_KEY_FILE): %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("ingest.tls.client_ca_file (INGEST_TLS_CLIENT_CA_FILE): %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ingest.tls.client_ca_file (INGEST_TLS_CLIENT_CA_FILE): no PEM certificate in %s", c.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
