package ingest

import (
	"errors"
	"fmt"
	"time"
)

// Config of the HTTP ingest source. Keys are ingest.* in the service's configuration.
type Config struct {
	Addr string `mapstructure:"addr" desc:"listen address of the ingest API (POST /v1/logs); loopback only by default"`
	// TokensFile holds the bearer tokens; it is a path, not a secret (the tokens are never
	// accepted as a flag or an environment value).
	TokensFile           string        `mapstructure:"tokens_file" desc:"file of bearer tokens, one per line (\"name token\" or \"token\"; # comments); empty: no token asked"`
	TLS                  TLSConfig     `mapstructure:"tls"`
	MaxBodyBytes         int64         `mapstructure:"max_body_bytes" desc:"largest request body in bytes, after gzip decoding (larger: 413)"`
	MaxInFlightRequests  int           `mapstructure:"max_in_flight_requests" desc:"requests read or published at once (more: 429 with Retry-After)"`
	MaxInFlightBytes     int64         `mapstructure:"max_in_flight_bytes" desc:"request bodies held in memory at once, in bytes (more: 429 with Retry-After)"`
	ClientLinesPerSecond float64       `mapstructure:"client_lines_per_second" desc:"lines per second each client may send on average (0: no limit; more: 429 with Retry-After)"`
	PublishTimeout       time.Duration `mapstructure:"publish_timeout" desc:"how long a request waits for Kafka before answering 503"`
	MaxTimePast          time.Duration `mapstructure:"max_time_past" desc:"event times earlier than this before receipt are clamped to it and flagged (0: not bounded)"`
	MaxTimeFuture        time.Duration `mapstructure:"max_time_future" desc:"event times later than this after receipt are clamped to it and flagged (0: not bounded)"`
	// MaxLineBytes is the service's max_line_bytes: longer text lines are cut; an NDJSON
	// record may be up to 8 times as long (JSON escaping), longer ones are refused.
	MaxLineBytes int `mapstructure:"-"`
}

// TLSConfig serves the ingest API over TLS, optionally asking clients for a certificate.
type TLSConfig struct {
	CertFile     string `mapstructure:"cert_file" desc:"PEM server certificate: serve the ingest API over TLS (empty: plain HTTP)"`
	KeyFile      string `mapstructure:"key_file" desc:"PEM key of the server certificate"`
	ClientCAFile string `mapstructure:"client_ca_file" desc:"PEM CAs that sign client certificates: every client must present one (mutual TLS)"`
}

// DefaultConfig: loopback :8081, 5 MiB bodies, 32 requests or 64 MiB of bodies at once,
// 10 s to reach Kafka, event times clamped to [receipt − 7 days, receipt + 5 min].
func DefaultConfig() Config {
	return Config{
		Addr:                "127.0.0.1:8081",
		MaxBodyBytes:        5 << 20,
		MaxInFlightRequests: 32,
		MaxInFlightBytes:    64 << 20,
		PublishTimeout:      10 * time.Second,
		MaxTimePast:         7 * 24 * time.Hour,
		MaxTimeFuture:       5 * time.Minute,
		MaxLineBytes:        64 << 10,
	}
}

// Validate names the key of the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("ingest.addr (INGEST_ADDR): must not be empty")
	case c.MaxBodyBytes < 1:
		return fmt.Errorf("ingest.max_body_bytes (INGEST_MAX_BODY_BYTES): must be ≥ 1, got %d", c.MaxBodyBytes)
	case c.MaxInFlightRequests < 1:
		return fmt.Errorf("ingest.max_in_flight_requests (INGEST_MAX_IN_FLIGHT_REQUESTS): must be ≥ 1, got %d", c.MaxInFlightRequests)
	case c.MaxInFlightBytes < c.MaxBodyBytes:
		return fmt.Errorf("ingest.max_in_flight_bytes (INGEST_MAX_IN_FLIGHT_BYTES): must be ≥ ingest.max_body_bytes (%d), got %d", c.MaxBodyBytes, c.MaxInFlightBytes)
	case c.ClientLinesPerSecond < 0:
		return fmt.Errorf("ingest.client_lines_per_second (INGEST_CLIENT_LINES_PER_SECOND): must be ≥ 0, got %g", c.ClientLinesPerSecond)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("ingest.publish_timeout (INGEST_PUBLISH_TIMEOUT): must be > 0, got %s", c.PublishTimeout)
	case c.MaxTimePast < 0:
		return fmt.Errorf("ingest.max_time_past (INGEST_MAX_TIME_PAST): must be ≥ 0, got %s", c.MaxTimePast)
	case c.MaxTimeFuture < 0:
		return fmt.Errorf("ingest.max_time_future (INGEST_MAX_TIME_FUTURE): must be ≥ 0, got %s", c.MaxTimeFuture)
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		return errors.New("ingest.tls.cert_file and ingest.tls.key_file (INGEST_TLS_CERT_FILE, INGEST_TLS_KEY_FILE): set both or neither")
	case c.TLS.ClientCAFile != "" && c.TLS.CertFile == "":
		return errors.New("ingest.tls.client_ca_file (INGEST_TLS_CLIENT_CA_FILE): needs ingest.tls.cert_file and key_file (mutual TLS is TLS)")
	}
	return nil
}

// maxRecordBytes is the longest NDJSON line accepted: a message of MaxLineBytes with
// every character escaped, plus the other keys.
func (c Config) maxRecordBytes() int {
	n := c.MaxLineBytes
	if n <= 0 {
		n = 64 << 10
	}
	return 8*n + 4096
}
