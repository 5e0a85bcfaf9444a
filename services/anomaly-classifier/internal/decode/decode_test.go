package decode

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

const tutorialLine = "[24/Nov/2026 09:15:02] 10.0.0.7 alice accessed file 'secrets.txt'"

var recTime = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func protoRecord(t testing.TB, ev *logwardenpb.LogEvent) kafkax.Message {
	t.Helper()
	m, err := kafkax.NewProtoMessage("logs.raw", ev.User, ev.Id, ev)
	if err != nil {
		t.Fatal(err)
	}
	m.Partition, m.Offset, m.Time = 2, 41, recTime
	return m
}

func rec(value string) kafkax.Message {
	return kafkax.Message{Topic: "logs.raw", Partition: 2, Offset: 41, Value: []byte(value), Time: recTime}
}

// TestContract runs every decoder through the same table: a valid record gives
// the parsed line with a stable id and a time; empty input is an error.
func TestContract(t *testing.T) {
	p := logparse.New(logparse.Options{})
	decoders := []struct {
		name  string
		dec   Decoder
		valid func(t testing.TB) kafkax.Message
	}{
		{"proto", Proto{Parser: p}, func(t testing.TB) kafkax.Message {
			return protoRecord(t, &logwardenpb.LogEvent{Id: "01JDPROTOEVENT0000000000AA", Raw: tutorialLine, Source: "generator"})
		}},
		{"json", JSON{Parser: p}, func(testing.TB) kafkax.Message { return rec(`{"log":"` + tutorialLine + `"}`) }},
		{"text", Text{Parser: p}, func(testing.TB) kafkax.Message { return rec(tutorialLine + "\n") }},
		{"auto-proto", New(p), func(t testing.TB) kafkax.Message {
			return protoRecord(t, &logwardenpb.LogEvent{Id: "01JDPROTOEVENT0000000000AA", Raw: tutorialLine})
		}},
		{"auto-json", New(p), func(testing.TB) kafkax.Message { return rec(`{"message":"` + tutorialLine + `"}`) }},
		{"auto-text", New(p), func(testing.TB) kafkax.Message { return rec(tutorialLine) }},
	}
	for _, d := range decoders {
		t.Run(d.name+"/valid", func(t *testing.T) {
			m := d.valid(t)
			var a, b logwardenpb.LogEvent
			if err := d.dec.Decode(m, &a); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if err := d.dec.Decode(m, &b); err != nil {
				t.Fatalf("Decode again: %v", err)
			}
			if a.Id == "" || a.Id != b.Id {
				t.Errorf("ids %q, %q: want equal and non-empty", a.Id, b.Id)
			}
			if a.Raw != tutorialLine {
				t.Errorf("raw %q", a.Raw)
			}
			if a.User != "alice" || a.Action != logparse.ActionFileAccess || a.Target != "secrets.txt" || a.Ip != "10.0.0.7" {
				t.Errorf("parsed user=%q action=%q target=%q ip=%q", a.User, a.Action, a.Target, a.Ip)
			}
			if got := a.Time.AsTime(); !got.Equal(time.Date(2026, 11, 24, 9, 15, 2, 0, time.UTC)) {
				t.Errorf("time %v, want the line's", got)
			}
		})
		t.Run(d.name+"/empty", func(t *testing.T) {
			m := d.valid(t)
			m.Value = nil
			if err := d.dec.Decode(m, &logwardenpb.LogEvent{}); err == nil {
				t.Fatal("empty record decoded")
			}
		})
	}
}

func TestAutoRejects(t *testing.T) {
	garbage := make([]byte, 512)
	if _, err := rand.Read(garbage); err != nil {
		t.Fatal(err)
	}
	garbage[0] = 0x8f // not '{'
	badProto := rec("\xff\xff\xff\xff")
	badProto.Headers = []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte(logEventSchema)}}
	otherSchema := rec("x")
	otherSchema.Headers = []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte("logwarden.v1.Alert")}}
	cases := []struct {
		name string
		m    kafkax.Message
		want error
	}{
		{"empty", rec(""), ErrEmpty},
		{"blank", rec(" \n"), ErrEmpty},
		{"garbage", kafkax.Message{Topic: "logs.raw", Value: garbage}, ErrBinary},
		{"nul", rec("user\x00root"), ErrBinary},
		{"bad protobuf", badProto, ErrProtobuf},
		{"other schema", otherSchema, ErrSchema},
		{"json without message", rec(`{"level":"info","msg":3}`), ErrNoMessage},
		{"json message not a string", rec(`{"message":{"a":1}}`), ErrNoMessage},
		{"broken json", rec(`{"log": "x`), ErrJSON},
		{"json empty line", rec(`{"log": "  "}`), ErrEmpty},
	}
	a := New(logparse.New(logparse.Options{}))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := a.Decode(c.m, &logwardenpb.LogEvent{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestJSONShippers(t *testing.T) {
	cases := []struct {
		name, value        string
		host, source, user string
		time               time.Time
	}{
		{"fluent-bit", `{"date":1764000000.5,"log":"Nov 24 10:00:00 web1 sshd[1]: Failed password for bob from 10.0.0.9 port 22 ssh2","file":"/var/log/auth.log"}`,
			"web1", "/var/log/auth.log", "bob", time.Time{}},
		{"vector", `{"message":"something odd happened","host":"h1","source_type":"file","timestamp":"2026-11-24T08:00:00.25Z"}`,
			"h1", "kafka:logs.raw", "", time.Date(2026, 11, 24, 8, 0, 0, 250e6, time.UTC)},
		{"filebeat", `{"@timestamp":"2026-11-24T07:00:00Z","message":"plain","host":{"name":"fb-host"},"log":{"file":{"path":"/var/log/app.log"}}}`,
			"fb-host", "/var/log/app.log", "", time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)},
		{"dotted", `{"message":"plain","host.name":"dh","log.file.path":"/x.log","time":1764000000123}`,
			"dh", "/x.log", "", time.UnixMilli(1764000000123).UTC()},
		{"no time", `{"message":"plain"}`, "", "kafka:logs.raw", "", recTime},
	}
	d := JSON{Parser: logparse.New(logparse.Options{Now: func() time.Time { return recTime }})}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ev logwardenpb.LogEvent
			if err := d.Decode(rec(c.value), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Host != c.host || ev.Source != c.source || ev.User != c.user {
				t.Errorf("host=%q source=%q user=%q, want %q %q %q", ev.Host, ev.Source, ev.User, c.host, c.source, c.user)
			}
			if !c.time.IsZero() && !ev.Time.AsTime().Equal(c.time) {
				t.Errorf("time %v, want %v", ev.Time.AsTime(), c.time)
			}
		})
	}
}

func TestProtoKeepsProducerFields(t *testing.T) {
	in := &logwardenpb.LogEvent{Id: "X1", Raw: tutorialLine, Source: "generator", Host: "gen",
		Label: &logwardenpb.Label{Anomalous: true, Scenario: "exfil"}}
	var ev logwardenpb.LogEvent
	if err := (Proto{Parser: logparse.New(logparse.Options{})}).Decode(protoRecord(t, in), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Id != "X1" || ev.Source != "generator" || ev.Host != "gen" || !ev.GetLabel().GetAnomalous() || ev.User != "alice" {
		t.Errorf("got %v", &ev)
	}
}

func TestRecordIDDiffersPerOffset(t *testing.T) {
	a, b := rec("x"), rec("x")
	b.Offset++
	if RecordID(a) == RecordID(b) {
		t.Fatal("same id for different offsets")
	}
	if RecordID(a) != RecordID(rec("y")) {
		t.Fatal("id depends on the value, not the coordinates")
	}
}

func FuzzAuto(f *testing.F) {
	ev, _ := proto.Marshal(&logwardenpb.LogEvent{Raw: tutorialLine})
	for _, s := range []string{tutorialLine, `{"log":"x","date":1.5}`, `{"message":"a","host":{"name":1}}`, "", "\x00\x01", string(ev)} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	a := New(logparse.New(logparse.Options{}))
	f.Fuzz(func(t *testing.T, b []byte, asProto bool) {
		m := rec("")
		m.Value = b
		if asProto {
			m.Headers = []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte(logEventSchema)}}
		}
		var ev logwardenpb.LogEvent
		if err := a.Decode(m, &ev); err == nil && ev.Id == "" {
			t.Fatal("decoded without an id")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	ev := &logwardenpb.LogEvent{Id: "01JDPROTOEVENT0000000000AA", Raw: tutorialLine}
	pm, err := kafkax.NewProtoMessage("logs.raw", "alice", ev.Id, ev)
	if err != nil {
		b.Fatal(err)
	}
	// As log-producer writes it: parsed, with times and the parser's fields.
	parsed := &logwardenpb.LogEvent{Id: "01JDPROTOEVENT0000000000AB", Source: "stdin", ReceivedAt: timestamppb.New(recTime)}
	logparse.New(logparse.Options{}).Parse(tutorialLine, parsed)
	ppm, err := kafkax.NewProtoMessage("logs.raw", "alice", parsed.Id, parsed)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    kafkax.Message
	}{
		{"proto", pm},
		{"proto-parsed", ppm},
		{"json", rec(`{"date":1764000000.5,"log":"` + tutorialLine + `","file":"/var/log/app.log"}`)},
		{"text", rec(tutorialLine)},
	} {
		b.Run(c.name, func(b *testing.B) {
			a := New(logparse.New(logparse.Options{}))
			b.ReportAllocs()
			for b.Loop() {
				var ev logwardenpb.LogEvent
				if err := a.Decode(c.m, &ev); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func TestJSONShipperLevel(t *testing.T) {
	cases := []struct {
		name, value string
		want        logwardenpb.LogLevel
	}{
		{"shipper level", `{"message":"db down","level":"error"}`, logwardenpb.LogLevel_LOG_LEVEL_ERROR},
		{"ECS nested", `{"message":"x","log":{"level":"warn"}}`, logwardenpb.LogLevel_LOG_LEVEL_WARNING},
		{"the line's own level wins", `{"log":"2024-01-02 03:04:05 FATAL boom","level":"info"}`, logwardenpb.LogLevel_LOG_LEVEL_CRITICAL},
		{"none", `{"message":"plain"}`, logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED},
		{"not a level", `{"message":"plain","level":"purple"}`, logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED},
	}
	d := JSON{Parser: logparse.New(logparse.Options{Now: func() time.Time { return recTime }})}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ev logwardenpb.LogEvent
			if err := d.Decode(rec(c.value), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Level != c.want {
				t.Fatalf("level %v, want %v", ev.Level, c.want)
			}
		})
	}
}

// TestProtoRefusesInvalidUTF8: every string of a LogEvent (fields and label included) with
// bytes that are not UTF-8 makes the record a dead letter, as proto3 requires; a string
// field added to LogEvent and not checked fails here.
func TestProtoRefusesInvalidUTF8(t *testing.T) {
	const bad = "ok\xff\xfe"
	var paths []string
	set := func(m protoreflect.Message, prefix string) {
		fields := m.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			switch {
			case fd.IsMap():
				paths = append(paths, prefix+string(fd.Name()))
			case fd.Kind() == protoreflect.StringKind:
				paths = append(paths, prefix+string(fd.Name()))
			}
		}
	}
	set((&logwardenpb.LogEvent{}).ProtoReflect(), "")
	set((&logwardenpb.Label{}).ProtoReflect(), "label.")
	p := logparse.New(logparse.Options{})
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{Id: "01JDPROTOEVENT0000000000AA", Raw: tutorialLine, Label: &logwardenpb.Label{},
				Fields: map[string]string{logparse.FieldFormat: "tutorial"}}
			r := ev.ProtoReflect()
			name := path
			if rest, ok := strings.CutPrefix(path, "label."); ok {
				r, name = ev.Label.ProtoReflect(), rest
			}
			fd := r.Descriptor().Fields().ByName(protoreflect.Name(name))
			if fd.IsMap() {
				ev.Fields["k"] = bad
			} else {
				r.Set(fd, protoreflect.ValueOfString(bad))
			}
			b, err := ev.MarshalVT() // proto.Marshal would refuse it: another producer might not
			if err != nil {
				t.Fatal(err)
			}
			m := rec("")
			m.Value = b
			m.Headers = []kafkax.Header{{Key: kafkax.HeaderSchema, Value: []byte(logEventSchema)}}
			if err := New(p).Decode(m, &logwardenpb.LogEvent{}); !errors.Is(err, ErrProtobuf) {
				t.Fatalf("err = %v, want %v", err, ErrProtobuf)
			}
		})
	}
	if len(paths) < 10 {
		t.Fatalf("only %d string fields found: %v", len(paths), paths)
	}
}
