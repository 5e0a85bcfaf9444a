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

// TestEncoderMessagesStayIntact: messages of one batch share the encoder's buffer; each
// keeps its own key, value and id after the buffer grew many times over, and appending
// to one message's bytes never reaches into the next.
func TestEncoderMessagesStayIntact(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	e := NewEncoder(now, 1, 8) // far too small: the buffer and headers must grow
	var msgs []Message
	var evs []*logwardenpb.LogEvent
	for i := range 300 {
		ev := &logwardenpb.LogEvent{Id: strings.Repeat("i", i%17) + "x", Raw: strings.Repeat("r", i), User: "u"}
		m, err := e.Message("logs.raw", strings.Repeat("k", i%5), ev.GetId(), ev)
		if err != nil {
			t.Fatal(err)
		}
		msgs, evs = append(msgs, m), append(evs, ev)
	}
	a := &logwardenpb.Alert{Id: "a1"}
	am, err := e.Message("alerts", "e", "a1", a)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(msgs[0].Value, 0xff) // must not overwrite msgs[1]'s bytes
	_ = append(msgs[0].Key, 'z')
	for i, m := range msgs {
		got := &logwardenpb.LogEvent{}
		if err := proto.Unmarshal(m.Value, got); err != nil || !proto.Equal(got, evs[i]) {
			t.Fatalf("message %d: value does not round-trip: %v %v", i, got, err)
		}
		if string(m.Key) != strings.Repeat("k", i%5) || m.Header(HeaderEventID) != evs[i].GetId() ||
			m.Header(HeaderSchema) != "logwarden.v1.LogEvent" || m.Header(HeaderContentType) != ContentTypeProtobuf {
			t.Fatalf("message %d: key %q headers %v", i, m.Key, m.Headers)
		}
		if at, ok := m.ProducedAt(); !ok || !at.Equal(now) {
			t.Fatalf("message %d: produced at %v %v", i, at, ok)
		}
	}
	if am.Header(HeaderSchema) != "logwarden.v1.Alert" || am.Topic != "alerts" {
		t.Fatalf("alert message: %v", am.Headers)
	}
	// Reset: the next batch, in the same buffers, stamped anew.
	later := now.Add(time.Hour)
	e.Reset(later, 2, 8)
	ev := &logwardenpb.LogEvent{Id: "again", Raw: "r2"}
	m, err := e.Message("logs.raw", "k2", "again", ev)
	if err != nil {
		t.Fatal(err)
	}
	got := &logwardenpb.LogEvent{}
	if at, ok := m.ProducedAt(); !ok || !at.Equal(later) || proto.Unmarshal(m.Value, got) != nil || !proto.Equal(got, ev) ||
		string(m.Key) != "k2" || m.Header(HeaderEventID) != "again" || m.Header(HeaderSchema) != "logwarden.v1.LogEvent" {
		t.Fatalf("after Reset: %v %v %q %v", at, got, m.Key, m.Headers)
	}
}

// BenchmarkEncode: one 500-message batch of LogEvents, each message on its own
// (NewProtoMessage) and through one Encoder.
func BenchmarkEncode(b *testing.B) {
	evs := make([]*logwardenpb.LogEvent, 500)
	for i := range evs {
		evs[i] = &logwardenpb.LogEvent{Id: "01JDBENCH00000000000000000" + string(rune('a'+i%26)), Raw: "[24/Nov/2026 09:00:00] 10.0.0.7 user042 accessed file '/srv/data/r1.csv'",
			User: "user042", Ip: "10.0.0.7", Action: "file_access", Target: "/srv/data/r1.csv", Source: "stdin",
			Fields: map[string]string{"parse.format": "tutorial"}}
	}
	b.Run("NewProtoMessage", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, ev := range evs {
				if _, err := NewProtoMessage("logs.raw", ev.User, ev.Id, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("Encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e := NewEncoder(time.Now(), len(evs), 200)
			for _, ev := range evs {
				if _, err := e.Message("logs.raw", ev.User, ev.Id, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "msgs/s")
	})
}
