package kafkax

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func produceTestMessages() []kafka.Message {
	at := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	return []kafka.Message{
		{Key: []byte("alice"), Value: []byte("v0"), Time: at,
			Headers: []kafka.Header{{Key: HeaderEventID, Value: []byte("01ABC")}, {Key: "empty", Value: []byte{}}, {Key: "null"}}},
		{Key: nil, Value: bytes.Repeat([]byte("x"), 300), Time: at.Add(-time.Second)}, // earlier: negative delta
		{Key: []byte{}, Value: nil, Time: at.Add(time.Hour)},
		{Key: []byte("bob"), Value: []byte("no time")},
	}
}

// The record batches the producer builds are what kafka-go builds for the same messages:
// byte for byte uncompressed, and decoding (CRC checked) to the same records with every
// codec.
func TestRecordBatchIsKafkaGos(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	msgs := produceTestMessages()
	idx := []int{0, 1, 2, 3}
	for _, name := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(name, func(t *testing.T) {
			comp, _ := compression(name)
			p := &producer{comp: comp}
			got, err := p.appendRecordBatch([]byte("prefix"), msgs, idx, now)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:6]) != "prefix" {
				t.Fatalf("dst's bytes changed: %q", got[:6])
			}
			got = got[6:]
			if comp == 0 {
				if want := kafkaGoRecordSet(t, msgs, now); !bytes.Equal(got, want) {
					t.Fatalf("record set differs from kafka-go's:\n got %x\nwant %x", got, want)
				}
			}
			var rs protocol.RecordSet
			if _, err := rs.ReadFrom(bytes.NewReader(got)); err != nil {
				t.Fatal(err)
			}
			if int8(rs.Attributes.Compression()) != int8(comp) {
				t.Errorf("compression %d, want %d", rs.Attributes.Compression(), comp)
			}
			for i := 0; ; i++ {
				r, err := rs.Records.ReadRecord()
				if err == io.EOF {
					if i != len(msgs) {
						t.Fatalf("%d records, want %d", i, len(msgs))
					}
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				m := msgs[i]
				wantTime := m.Time
				if wantTime.IsZero() {
					wantTime = now
				}
				if r.Offset != int64(i) || !r.Time.Equal(wantTime.Truncate(time.Millisecond)) {
					t.Errorf("record %d: offset %d time %s, want %d %s", i, r.Offset, r.Time, i, wantTime)
				}
				if k := readBytes(t, r.Key); !equalNull(k, m.Key) {
					t.Errorf("record %d: key %q, want %q", i, k, m.Key)
				}
				if v := readBytes(t, r.Value); !equalNull(v, m.Value) {
					t.Errorf("record %d: value %q, want %q", i, v, m.Value)
				}
				if fmt.Sprint(r.Headers) != fmt.Sprint(m.Headers) {
					t.Errorf("record %d: headers %v, want %v", i, r.Headers, m.Headers)
				}
			}
		})
	}
}

func kafkaGoRecordSet(t *testing.T, msgs []kafka.Message, now time.Time) []byte {
	t.Helper()
	recs := make([]protocol.Record, len(msgs))
	for i, m := range msgs {
		tm := m.Time
		if tm.IsZero() {
			tm = now
		}
		recs[i] = protocol.Record{Time: tm, Key: protocol.NewBytes(m.Key), Value: protocol.NewBytes(m.Value), Headers: m.Headers}
	}
	rs := protocol.RecordSet{Version: 2, Records: protocol.NewRecordReader(recs...)}
	var b bytes.Buffer
	if _, err := rs.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readBytes(t *testing.T, b protocol.Bytes) []byte {
	t.Helper()
	if b == nil {
		return nil
	}
	defer b.Close()
	out, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if out == nil {
		out = []byte{}
	}
	return out
}

// equalNull tells nil from empty.
func equalNull(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestBatchOf(t *testing.T) {
	msg := func(n int) kafka.Message { return kafka.Message{Value: make([]byte, n)} }
	size := recordSize(msg(100))
	tests := []struct {
		name     string
		msgs     []kafka.Message
		size     int
		maxBytes int64
		want     int
	}{
		{"all fit", []kafka.Message{msg(100), msg(100)}, 10, 10 * size, 2},
		{"count", []kafka.Message{msg(100), msg(100), msg(100)}, 2, 10 * size, 2},
		{"bytes", []kafka.Message{msg(100), msg(100), msg(100)}, 10, 2*size + 1, 2},
		{"exactly full", []kafka.Message{msg(100), msg(100), msg(100)}, 10, 2 * size, 2},
		{"first too large still goes", []kafka.Message{msg(1000), msg(100)}, 10, size, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := make([]int, len(tt.msgs))
			for i := range idx {
				idx[i] = i
			}
			if got := batchOf(tt.msgs, idx, tt.size, tt.maxBytes); got != tt.want {
				t.Errorf("batchOf = %d, want %d", got, tt.want)
			}
		})
	}
}

// BenchmarkRecordBatch: encoding and compressing 2,000 log-event-sized records (about
// 240 bytes of value and the four standard headers) into one record batch.
func BenchmarkRecordBatch(b *testing.B) {
	at := time.Now()
	enc := NewEncoder(at, 2000, 300)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
	msgs := make([]kafka.Message, 2000)
	idx := make([]int, len(msgs))
	for i := range msgs {
		u := users[i%len(users)]
		target := fmt.Sprintf("/home/%s/docs/report-%d.pdf", u, i)
		ip := fmt.Sprintf("10.20.%d.%d", i%250, i*7%250)
		ev := &logwardenpb.LogEvent{Id: fmt.Sprintf("01M8SE7CEJG0EDPTSX0M%06d", i),
			Raw:  fmt.Sprintf("[05/Jan/2026 07:%02d:%02d] %s %s accessed file '%s'", i/60%60, i%60, ip, u, target),
			User: u, Ip: ip, Action: "file_access", Target: target, Source: "stdin",
			Time: timestamppb.New(at.Add(time.Duration(i) * time.Second)), ReceivedAt: timestamppb.New(at),
			Fields: map[string]string{"parse.format": "tutorial"}}
		m, err := enc.Message("logs.raw", u, ev.Id, ev)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i], idx[i] = toKafka(m), i
	}
	for _, name := range []string{"none", "lz4", "snappy", "zstd"} {
		b.Run(name, func(b *testing.B) {
			comp, _ := compression(name)
			p := &producer{comp: comp}
			buf := make([]byte, 0, 1<<20)
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				out, err := p.appendRecordBatch(buf[:0], msgs, idx, at)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(size)/float64(len(msgs)), "bytes/record")
		})
	}
}

func TestVarintSize(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 8191, 8192, 1 << 40, -1 << 40, 1<<63 - 1, -1 << 63} {
		if got, want := varintSize(v), len(binary.AppendVarint(nil, v)); got != want {
			t.Errorf("varintSize(%d) = %d, want %d", v, got, want)
		}
	}
}
