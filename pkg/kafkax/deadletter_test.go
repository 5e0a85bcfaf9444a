package kafkax

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDeadLetterInvalidUTF8: header keys and values, the error text and the service name
// come from untrusted records and errors; none of them may stop the dead letter from
// encoding or lose the reason, the headers or the coordinates.
func TestDeadLetterInvalidUTF8(t *testing.T) {
	orig := Message{Topic: "logs.raw", Partition: 2, Offset: 7, Key: []byte("k\xff"), Value: []byte("v\xfe"),
		Headers: []Header{
			{Key: "trace\xc3", Value: []byte("ok")},
			{Key: "lw-source", Value: []byte{0xde, 0xad, 0xbe, 0xef}},
			{Key: "note", Value: []byte("café")},
		}}
	dlm := DeadLetter(orig, "svc\xff", errors.New("cannot parse \"\xe9t\xe9\": bad byte"))
	dl, err := DecodeDeadLetter(dlm)
	if err != nil {
		t.Fatalf("dead letter does not decode: %v", err)
	}
	if dl.GetTopic() != "logs.raw" || dl.GetPartition() != 2 || dl.GetOffset() != 7 {
		t.Errorf("coordinates = %s/%d@%d", dl.GetTopic(), dl.GetPartition(), dl.GetOffset())
	}
	if !bytes.Equal(dl.GetKey(), orig.Key) || !bytes.Equal(dl.GetValue(), orig.Value) {
		t.Errorf("key/value not kept byte for byte: %q %q", dl.GetKey(), dl.GetValue())
	}
	if want := "cannot parse \"\uFFFDt\uFFFD\": bad byte"; dl.GetError() != want {
		t.Errorf("error = %q, want %q", dl.GetError(), want)
	}
	if dl.GetService() != "svc\uFFFD" {
		t.Errorf("service = %q", dl.GetService())
	}
	want := map[string]string{"trace\uFFFD": "ok", "lw-source": "hex:deadbeef", "note": "café"}
	for k, v := range want {
		if got := dl.GetHeaders()[k]; got != v {
			t.Errorf("header %q = %q, want %q (all: %q)", k, got, v, dl.GetHeaders())
		}
	}
	for k, v := range dl.GetHeaders() {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			t.Errorf("header %q = %q is not UTF-8", k, v)
		}
	}
}

func TestDeadLetterLongErrorIsClippedOnARune(t *testing.T) {
	why := strings.Repeat("é", maxDeadLetterError) // 2 bytes each: twice the bound
	dl, err := DecodeDeadLetter(DeadLetter(Message{Topic: "t"}, "s", errors.New(why)))
	if err != nil {
		t.Fatal(err)
	}
	if len(dl.GetError()) > maxDeadLetterError || !utf8.ValidString(dl.GetError()) || !strings.HasSuffix(dl.GetError(), "…") {
		t.Errorf("error of %d bytes, valid %v", len(dl.GetError()), utf8.ValidString(dl.GetError()))
	}
}

func TestFitDeadLetter(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 1_048_400)
	tests := []struct {
		name      string
		m         Message
		limit     int64
		wantValue int // bytes of the value kept; -1: trimmed to whatever fits
		wantOrig  int64
		wantKey   int
	}{
		{"fits already", Message{Topic: "t", Key: []byte("k"), Value: []byte("small")}, 4096, 5, 0, 1},
		{"1 MB value into 64 KiB", Message{Topic: "t", Offset: 9, Key: []byte("user-1"), Value: big}, 64 << 10, -1, int64(len(big)), 6},
		{"1 MB value into 1 MiB", Message{Topic: "t", Offset: 9, Key: []byte("user-1"), Value: big}, 1 << 20, -1, int64(len(big)), 6},
		{"huge key too", Message{Topic: "t", Key: bytes.Repeat([]byte("k"), 200_000), Value: big,
			Headers: []Header{{Key: "h", Value: bytes.Repeat([]byte("v"), 100_000)}}}, 64 << 10, -1, int64(len(big)), maxDeadLetterKey},
		{"tiny limit: coordinates and reason only", Message{Topic: "t", Key: []byte("user-1"), Value: big,
			Headers: []Header{{Key: "h1", Value: bytes.Repeat([]byte("v"), 300)}, {Key: "h2", Value: bytes.Repeat([]byte("w"), 300)}}},
			400, -1, int64(len(big)), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dlm := DeadLetter(tc.m, "svc", errors.New("not a LogEvent"))
			fitted, ok := fitDeadLetter(dlm, tc.limit)
			if !ok {
				t.Fatalf("fitDeadLetter failed for a %d-byte record into %d", recordSize(toKafka(dlm)), tc.limit)
			}
			if size := recordSize(toKafka(fitted)); size > tc.limit {
				t.Fatalf("record of %d bytes, limit %d", size, tc.limit)
			}
			dl, err := DecodeDeadLetter(fitted)
			if err != nil {
				t.Fatal(err)
			}
			if dl.GetError() != "not a LogEvent" && !strings.HasPrefix(dl.GetError(), "not a LogEvent") {
				t.Errorf("error = %q", dl.GetError())
			}
			if dl.GetOffset() != tc.m.Offset || dl.GetTopic() != "t" || dl.GetService() != "svc" {
				t.Errorf("coordinates lost: %v", dl)
			}
			if tc.wantValue >= 0 && len(dl.GetValue()) != tc.wantValue {
				t.Errorf("value of %d bytes, want %d", len(dl.GetValue()), tc.wantValue)
			}
			if tc.wantValue < 0 && (len(dl.GetValue()) == 0 && tc.limit > 4096 || !bytes.HasPrefix(tc.m.Value, dl.GetValue())) {
				t.Errorf("value of %d bytes is not a non-empty prefix of the original", len(dl.GetValue()))
			}
			if dl.GetOriginalValueSize() != tc.wantOrig {
				t.Errorf("original_value_size = %d, want %d", dl.GetOriginalValueSize(), tc.wantOrig)
			}
			if len(dl.GetKey()) != tc.wantKey || len(fitted.Key) != tc.wantKey {
				t.Errorf("key of %d bytes (record key %d), want %d", len(dl.GetKey()), len(fitted.Key), tc.wantKey)
			}
			for k, v := range dl.GetHeaders() {
				if len(v) > maxDeadLetterHeaderValue {
					t.Errorf("header %s of %d bytes", k, len(v))
				}
			}
			// Fitting again keeps the original size (the value is already a prefix).
			again, ok := fitDeadLetter(fitted, tc.limit)
			if dl2, _ := DecodeDeadLetter(again); !ok || dl2.GetOriginalValueSize() != tc.wantOrig {
				t.Errorf("second fit: ok %v, original_value_size %d", ok, dl2.GetOriginalValueSize())
			}
		})
	}
	if _, ok := fitDeadLetter(Message{Topic: "t.dlq", Value: big}, 64<<10); ok {
		t.Error("fitDeadLetter trimmed a record that is not a dead letter")
	}
	if _, ok := fitDeadLetter(DeadLetter(Message{Topic: "t", Value: big}, "svc", errors.New("x")), 50); ok {
		t.Error("fitDeadLetter claims a dead letter fits into 50 bytes")
	}
}

func TestUnwritten(t *testing.T) {
	msgs := []Message{{Topic: "a", Value: []byte("0")}, {Topic: "a", Value: []byte("1")}, {Topic: "b", Value: []byte("2")}}
	tooBig := &MessageTooLargeError{Topic: "b", Size: 10, Max: 5, Limit: 8}
	again, rejected := Unwritten(msgs, &WriteError{Errs: []error{nil, errors.New("leader moved"), tooBig}, topics: "a,b"})
	if len(again) != 1 || string(again[0].Value) != "1" {
		t.Errorf("again = %v, want only message 1", again)
	}
	if len(rejected) != 1 || string(rejected[0].Message.Value) != "2" || !errors.Is(rejected[0].Err, ErrMessageTooLarge) {
		t.Errorf("rejected = %v, want message 2, too large", rejected)
	}
	if again, rejected := Unwritten(msgs, errors.New("context canceled")); len(again) != 3 || len(rejected) != 0 {
		t.Errorf("plain error: again %d, rejected %d; want all 3 again", len(again), len(rejected))
	}
	if again, rejected := Unwritten(msgs, nil); again != nil || rejected != nil {
		t.Error("nil error: something to write again")
	}
}
