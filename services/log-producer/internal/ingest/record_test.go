package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestDecodeCheckedAgreesWithDecodeRecord: the fast decoder of the publish pass reads what
// the strict one accepted the same way.
func TestDecodeCheckedAgreesWithDecodeRecord(t *testing.T) {
	for _, line := range []string{
		`{"message":"m"}`,
		`{"message":"m\u00e9\n","host":"h","source":"s","time":"2026-11-24T06:00:00Z"}`,
		`{"time":"2026-11-24T06:00:00.5+01:00","message":"x","host":null,"source":""}`,
		` { "message" : "\ud800 escaped" } `,
	} {
		want, err := decodeRecord([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if got := decodeChecked([]byte(line)); got != want {
			t.Errorf("%s: fast %+v, strict %+v", line, got, want)
		}
	}
}

// referenceKeys is a slow, obviously right reading of a line's top-level keys with
// encoding/json's token stream: the keys in order, or ok false when the line is not one
// object of string or null values.
func referenceKeys(raw []byte) (keys []string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		keys = append(keys, tok.(string))
		v, err := dec.Token()
		if _, isString := v.(string); err != nil || (v != nil && !isString) {
			return nil, false
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return keys, true
}

// FuzzDecodeRecord: a line is accepted only if the reference reading finds one object of
// distinct known keys with string values, and the fast publish-pass decoder agrees.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(`{"message":"m","host":"h"}`)
	f.Add(`{"message":"m","Host":"h"}`)
	f.Add(`{"message":"m","host":"a","host":"b"}`)
	f.Add(`{"message":"m","h\u006fst":"a","host":"b"}`)
	f.Add(`{"message":"m","host":1}`)
	f.Fuzz(func(t *testing.T, line string) {
		rec, err := decodeRecord([]byte(line))
		keys, ok := referenceKeys([]byte(line))
		seen := map[string]bool{}
		valid := ok
		for _, k := range keys {
			valid = valid && !seen[k] && (k == "message" || k == "host" || k == "source" || k == "time")
			seen[k] = true
		}
		if err == nil && !valid {
			t.Fatalf("%q accepted, but its keys are %q (ok %v)", line, keys, ok)
		}
		if err != nil && valid && !strings.Contains(err.Error(), `"message"`) && !strings.Contains(err.Error(), `"time"`) && !strings.Contains(err.Error(), `"host"`) {
			t.Fatalf("%q refused (%v), but its keys %q are fine", line, err, keys)
		}
		if err == nil {
			if got := decodeChecked([]byte(line)); got != rec {
				t.Fatalf("%q: fast %+v, strict %+v", line, got, rec)
			}
		}
	})
}
