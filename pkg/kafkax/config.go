package kafkax

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Config says how to reach the brokers. Services embed it under the key "kafka", so every
// field has an environment form (KAFKA_BROKERS, KAFKA_TLS_ENABLED, KAFKA_SASL_MECHANISM…).
type Config struct {
	Brokers  []string   `mapstructure:"brokers" desc:"Kafka bootstrap brokers, comma-separated host:port"`
	ClientID string     `mapstructure:"client_id" desc:"client id sent to the brokers"`
	TLS      TLSConfig  `mapstructure:"tls"`
	SASL     SASLConfig `mapstructure:"sasl"`
}

// TLSConfig enables TLS to the brokers.
type TLSConfig struct {
	Enabled            bool   `mapstructure:"enabled" desc:"connect to the brokers over TLS"`
	CAFile             string `mapstructure:"ca_file" desc:"PEM file of CAs to trust (default: system roots)"`
	CertFile           string `mapstructure:"cert_file" desc:"PEM client certificate for mutual TLS"`
	KeyFile            string `mapstructure:"key_file" desc:"PEM client key for mutual TLS"`
	InsecureSkipVerify bool   `mapstructure:"insecure_skip_verify" desc:"do not verify the brokers' certificates (testing only)"`
}

// SASLConfig authenticates to the brokers.
type SASLConfig struct {
	Mechanism string `mapstructure:"mechanism" desc:"SASL mechanism: empty (none), PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"`
	Username  string `mapstructure:"username" desc:"SASL user name"`
	Password  string `mapstructure:"password" desc:"SASL password (secret)"`
}

// DefaultConfig reaches a broker on the local machine, as `make kafka-up` starts it.
func DefaultConfig() Config {
	return Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "logwarden"}
}

// Validate names the key of the first invalid setting.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New(`kafka.brokers (KAFKA_BROKERS): at least one broker is required`)
	}
	for _, b := range c.Brokers {
		b = strings.TrimSpace(b)
		if b == "" || !strings.Contains(b, ":") {
			return fmt.Errorf(`kafka.brokers (KAFKA_BROKERS): %q is not host:port`, b)
		}
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.SASL.Username == "" {
			return fmt.Errorf(`kafka.sasl.username (KAFKA_SASL_USERNAME): required with mechanism %s`, c.SASL.Mechanism)
		}
	default:
		return fmt.Errorf(`kafka.sasl.mechanism (KAFKA_SASL_MECHANISM): %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`, c.SASL.Mechanism)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New(`kafka.tls.cert_file and kafka.tls.key_file (KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE): set both or neither`)
	}
	if _, err := c.saslMechanism(); err != nil {
		return err
	}
	return nil
}

func (c Config) brokers() []string {
	out := make([]string, 0, len(c.Brokers))
	for _, b := range c.Brokers {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // opt-in, documented as testing only
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: no PEM certificate in %s", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c Config) saslMechanism() (sasl.Mechanism, error) {
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Mechanism{Username: c.SASL.Username, Password: c.SASL.Password}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		algo := scram.SHA256
		if strings.ToUpper(c.SASL.Mechanism) == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		if _, err := scram.Mechanism(algo, c.SASL.Username, ""); err != nil {
			return nil, fmt.Errorf("kafka.sasl.username (KAFKA_SASL_USERNAME): %w", err)
		}
		m, err := scram.Mechanism(algo, c.SASL.Username, c.SASL.Password)
		if err != nil {
			// xdg-go/scram quotes the password in its error: say what is wrong, not the value.
			return nil, errors.New("kafka.sasl.password (KAFKA_SASL_PASSWORD): not usable for SCRAM (SASLprep refuses control, non-character or unassigned code points)")
		}
		return m, nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: unsupported %q", c.SASL.Mechanism)
}

func (c Config) dialer() (*kafka.Dialer, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.saslMechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{
		ClientID:      c.ClientID,
		Timeout:       10 * time.Second,
		DualStack:     true,
		TLS:           tc,
		SASLMechanism: mech,
	}, nil
}

func (c Config) transport() (*kafka.Transport, error) {
	tc, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.saslMechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{
		ClientID:    c.ClientID,
		DialTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 10 * time.Second,
		TLS:         tc,
		SASL:        mech,
	}, nil
}
