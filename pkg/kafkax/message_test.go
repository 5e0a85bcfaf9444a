package kafkax

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func TestNewProtoMessageCarriesStandardHeaders(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	ev := &logwardenpb.LogEvent{Id: "e1", Raw: "hello", User: "veronica08"}
	m, err := newProtoMessage("logs.raw", "veronica08", "e1", ev, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		HeaderContentType: "application/x-protobuf",
		HeaderSchema:      "logwarden.v1.LogEvent",
		HeaderEventID:     "e1",
		HeaderProducedAt:  "2026-01-02T03:04:05.000000006Z",
	}
	for k, v := range want {
		if got := m.Header(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(m.Key) != "veronica08" || m.Topic != "logs.raw" {
		t.Errorf("key/topic = %q/%q", m.Key, m.Topic)
	}
	got := &logwardenpb.LogEvent{}
	if err := proto.Unmarshal(m.Value, got); err != nil || !proto.Equal(got, ev) {
		t.Fatalf("value does not round-trip: %v %v", got, err)
	}
	if at, ok := m.ProducedAt(); !ok || !at.Equal(now) {
		t.Fatalf("ProducedAt = %v %v", at, ok)
	}
}

func TestDeadLetterKeepsReasonBytesAndCoordinates(t *testing.T) {
	orig := Message{Topic: "logs.raw", Partition: 3, Offset: 42, Key: []byte("k"), Value: []byte{0xff, 0x00, 0x13},
		Headers: []Header{{Key: "lw-schema", Value: []byte("x")}}}
	dlm := DeadLetter(orig, "anomaly-classifier", errors.New("not a LogEvent: bad wire type"))
	if dlm.Topic != "logs.raw.dlq" || string(dlm.Key) != "k" {
		t.Fatalf("topic/key = %s/%s", dlm.Topic, dlm.Key)
	}
	dl, err := DecodeDeadLetter(dlm)
	if err != nil {
		t.Fatal(err)
	}
	if dl.GetTopic() != "logs.raw" || dl.GetPartition() != 3 || dl.GetOffset() != 42 ||
		string(dl.GetValue()) != string(orig.Value) || dl.GetError() != "not a LogEvent: bad wire type" ||
		dl.GetService() != "anomaly-classifier" || dl.GetHeaders()["lw-schema"] != "x" {
		t.Fatalf("dead letter = %v", dl)
	}
	if dlm.Header(HeaderSchema) != "logwarden.v1.DeadLetter" {
		t.Fatalf("schema header = %q", dlm.Header(HeaderSchema))
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }, "kafka.brokers"},
		{"bad broker", func(c *Config) { c.Brokers = []string{"localhost"} }, "kafka.brokers"},
		{"bad mechanism", func(c *Config) { c.SASL.Mechanism = "GSSAPI" }, "kafka.sasl.mechanism"},
		{"sasl without user", func(c *Config) { c.SASL.Mechanism = "SCRAM-SHA-512" }, "kafka.sasl.username"},
		{"half a client cert", func(c *Config) { c.TLS.CertFile = "c.pem" }, "kafka.tls.cert_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	ok := DefaultConfig()
	ok.SASL = SASLConfig{Mechanism: "PLAIN", Username: "u", Password: "p"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := ok.dialer(); err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		ok.SASL.Mechanism = mech
		if m, err := ok.saslMechanism(); err != nil || m == nil {
			t.Fatalf("%s: %v", mech, err)
		}
	}
}

// TestConfigErrorsNeverShowThePassword: a password SCRAM cannot use is refused at start,
// naming the key, without the password (xdg-go/scram's own error quotes it).
func TestConfigErrorsNeverShowThePassword(t *testing.T) {
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		c := DefaultConfig()
		c.SASL = SASLConfig{Mechanism: mech, Username: "svc", Password: "hunter2\u0007secret"}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "kafka.sasl.password (KAFKA_SASL_PASSWORD)") {
			t.Fatalf("%s: Validate() = %v, want an error naming kafka.sasl.password", mech, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", mech, err)
		}
		if _, err := NewAdmin(c); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: NewAdmin = %v", mech, err)
		}
	}
}
