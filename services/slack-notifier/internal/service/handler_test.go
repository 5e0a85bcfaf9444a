package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/deliver"
)

// acks records the calls of one record's kafkax.Ack: no broker needed.
type acks struct {
	calls   int
	outputs []kafkax.Message
	err     error
}

func (a *acks) ack(_ context.Context, outputs ...kafkax.Message) error {
	a.calls++
	a.outputs = append(a.outputs, outputs...)
	return a.err
}

// pipeline records what the handler added.
type pipeline struct {
	alerts   []*logwardenpb.Alert
	receipts []deliver.Receipt
	err      error
}

func (p *pipeline) Add(_ context.Context, a *logwardenpb.Alert, r deliver.Receipt) error {
	if p.err != nil {
		return p.err
	}
	p.alerts = append(p.alerts, a)
	p.receipts = append(p.receipts, r)
	return nil
}

func alertRecord(t *testing.T, a *logwardenpb.Alert, offset int64) kafkax.Message {
	t.Helper()
	m, err := kafkax.NewProtoMessage("alerts", a.GetFingerprint(), a.GetId(), a)
	if err != nil {
		t.Fatal(err)
	}
	m.Partition, m.Offset = 2, offset
	return m
}

func deadLetter(t *testing.T, m kafkax.Message) *logwardenpb.DeadLetter {
	t.Helper()
	if m.Topic != "alerts.dlq" {
		t.Fatalf("output on %q, want alerts.dlq", m.Topic)
	}
	d, err := kafkax.DecodeDeadLetter(m)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// What is not a logwarden.v1.Alert goes to the dead-letter topic with the reason, and
// the record is acknowledged in the same step; nothing reaches the pipeline.
func TestHandlerDeadLettersWhatIsNotAnAlert(t *testing.T) {
	good := &logwardenpb.Alert{Id: "a-1", Fingerprint: "fp", Severity: logwardenpb.Severity_SEVERITY_HIGH}
	verdict, err := kafkax.NewProtoMessage("alerts", "k", "v-1", &logwardenpb.Verdict{Event: &logwardenpb.LogEvent{Id: "e", Raw: "line"}, Anomalous: true})
	if err != nil {
		t.Fatal(err)
	}
	withSchema := func(value []byte, schema string) kafkax.Message {
		return kafkax.Message{Topic: "alerts", Value: value, Headers: []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte(schema)}}}
	}
	goodBytes := alertRecord(t, good, 0).Value
	for _, tt := range []struct {
		name string
		m    kafkax.Message
		want string
	}{
		{"tombstone", kafkax.Message{Topic: "alerts", Key: []byte("fp")}, "empty record"},
		{"empty value with the Alert header", withSchema([]byte{}, AlertSchema), "empty record"},
		{"a Verdict", verdict, `lw-schema "logwarden.v1.Verdict"`},
		{"no schema header", kafkax.Message{Topic: "alerts", Value: goodBytes}, `lw-schema ""`},
		{"JSON content type", kafkax.Message{Topic: "alerts", Value: goodBytes, Headers: []kafkax.Header{
			{Key: kafkax.HeaderSchema, Value: []byte(AlertSchema)}, {Key: kafkax.HeaderContentType, Value: []byte("application/json")}}}, "content-type"},
		{"garbage with the Alert header", withSchema([]byte("\xff\xffnot a protobuf"), AlertSchema), "invalid Alert protobuf"},
		{"no id", alertRecord(t, &logwardenpb.Alert{Fingerprint: "fp"}, 1), "alert without id"},
		{"no fingerprint", alertRecord(t, &logwardenpb.Alert{Id: "a-2"}, 1), "alert without fingerprint"},
		{"hostile schema header", withSchema(goodBytes, "x\u202e\n"+strings.Repeat("y", 500)), "not a logwarden.v1.Alert"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := &pipeline{}
			a := &acks{}
			m := NewMetrics(nil)
			if err := NewHandler(p, "slack-notifier", m, nil).Handle(context.Background(), tt.m, a.ack); err != nil {
				t.Fatal(err)
			}
			if len(p.alerts) != 0 {
				t.Fatalf("%s reached the pipeline", tt.name)
			}
			if a.calls != 1 || len(a.outputs) != 1 {
				t.Fatalf("ack called %d times with %d outputs, want once with the dead letter", a.calls, len(a.outputs))
			}
			d := deadLetter(t, a.outputs[0])
			if !strings.Contains(d.GetError(), tt.want) || d.GetService() != "slack-notifier" || string(d.GetValue()) != string(tt.m.Value) {
				t.Fatalf("dead letter %q (service %q), want the reason %q and the original value", d.GetError(), d.GetService(), tt.want)
			}
			if len(d.GetError()) > 400 || strings.ContainsAny(d.GetError(), "\u202e\n") {
				t.Fatalf("reason not sanitized or bounded: %q", d.GetError())
			}
		})
	}
}

// Alerts without an id are not merged into one group: each is dead-lettered on its own.
func TestHandlerNeverMergesIDlessAlerts(t *testing.T) {
	p := &pipeline{}
	h := NewHandler(p, "slack-notifier", nil, nil)
	var letters []*logwardenpb.DeadLetter
	for i, fp := range []string{"", "", "fp"} {
		a := &acks{}
		if err := h.Handle(context.Background(), alertRecord(t, &logwardenpb.Alert{Fingerprint: fp, Title: "t"}, int64(i)), a.ack); err != nil {
			t.Fatal(err)
		}
		for _, o := range a.outputs {
			letters = append(letters, deadLetter(t, o))
		}
	}
	if len(letters) != 3 || len(p.alerts) != 0 {
		t.Fatalf("%d dead letters, %d alerts added: want every id-less record dead-lettered on its own", len(letters), len(p.alerts))
	}
	for i, d := range letters {
		if d.GetOffset() != int64(i) {
			t.Errorf("dead letter %d is of offset %d", i, d.GetOffset())
		}
	}
}

// An alert reaches the pipeline with a receipt; the receipt acknowledges the record
// (Ack) or writes its dead letter with the delivery's reason and then acknowledges it
// (Reject).
func TestReceiptSettlesTheRecord(t *testing.T) {
	p := &pipeline{}
	h := NewHandler(p, "slack-notifier", nil, nil)
	var records []*acks
	for i, id := range []string{"a-1", "a-2"} {
		a := &acks{}
		records = append(records, a)
		if err := h.Handle(context.Background(), alertRecord(t, &logwardenpb.Alert{Id: id, Fingerprint: "fp"}, int64(i)), a.ack); err != nil {
			t.Fatal(err)
		}
		if a.calls != 0 {
			t.Fatalf("record %s acknowledged before delivery", id)
		}
	}
	if len(p.alerts) != 2 || p.alerts[0].GetId() != "a-1" {
		t.Fatalf("pipeline got %v", p.alerts)
	}
	if err := p.receipts[0].Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
	if records[0].calls != 1 || len(records[0].outputs) != 0 {
		t.Fatalf("Ack: %d calls, %d outputs; want one plain ack", records[0].calls, len(records[0].outputs))
	}
	if err := p.receipts[1].Reject(context.Background(), errors.New("slack-webhook: HTTP 404 no_service")); err != nil {
		t.Fatal(err)
	}
	if records[1].calls != 1 || len(records[1].outputs) != 1 {
		t.Fatalf("Reject: %d calls, %d outputs; want one ack carrying the dead letter", records[1].calls, len(records[1].outputs))
	}
	d := deadLetter(t, records[1].outputs[0])
	if d.GetError() != "slack-webhook: HTTP 404 no_service" || d.GetOffset() != 1 || d.GetPartition() != 2 {
		t.Fatalf("dead letter %+v", d)
	}
}

// A failed dead-letter write or a stopped pipeline stops the consumer (the record is
// not acknowledged and comes back after the restart).
func TestHandlerErrorsStopTheConsumer(t *testing.T) {
	a := &acks{err: kafkax.ErrStopped}
	h := NewHandler(&pipeline{}, "slack-notifier", nil, nil)
	if err := h.Handle(context.Background(), kafkax.Message{Topic: "alerts"}, a.ack); !errors.Is(err, kafkax.ErrStopped) {
		t.Fatalf("dead-letter write failure: %v", err)
	}
	h = NewHandler(&pipeline{err: context.Canceled}, "slack-notifier", nil, nil)
	if err := h.Handle(context.Background(), alertRecord(t, &logwardenpb.Alert{Id: "a", Fingerprint: "fp"}, 0), (&acks{}).ack); !errors.Is(err, context.Canceled) {
		t.Fatalf("pipeline stopped: %v", err)
	}
}
