package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// record is one application/x-ndjson line: {"message", "host", "source", "time"}.
type record struct {
	message, host, source, time string
	set                         uint8 // which of host, source, time the client gave
}

const (
	setHost uint8 = 1 << iota
	setSource
	setTime
	setMessage
)

// keyBit is the bit of a known record key.
func keyBit(key []byte) (uint8, bool) {
	switch string(key) {
	case "message":
		return setMessage, true
	case "host":
		return setHost, true
	case "source":
		return setSource, true
	case "time":
		return setTime, true
	}
	return 0, false
}

// decodeRecord reads one NDJSON line strictly: an object whose keys are exactly (case
// matters) message, host, source and time, each at most once, with string values (null:
// absent); message is required. The error says what is wrong, for "line N: …".
func decodeRecord(raw []byte) (record, error) {
	if !json.Valid(raw) {
		return record{}, syntaxError(raw)
	}
	if err := checkKeys(raw); err != nil {
		return record{}, err
	}
	rec := decodeChecked(raw)
	if rec.message == "" {
		return rec, errors.New(`"message" is required`)
	}
	if strings.IndexByte(rec.message, 0) >= 0 {
		return rec, errors.New(`"message" holds a NUL character: binary content is not read`)
	}
	if len(rec.host) > 255 || len(rec.source) > 255 || hasControl(rec.host) || hasControl(rec.source) {
		return rec, errors.New(`"host" and "source" must be at most 255 bytes, without control characters`)
	}
	if rec.time != "" {
		if _, err := parseTime(rec.time); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// syntaxError explains why a line is not one JSON value.
func syntaxError(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return errors.New("more than one JSON value on the line")
}

// checkKeys walks the top level of a valid JSON value without allocating: it must be an
// object whose keys are known and unique and whose values are strings or null.
func checkKeys(raw []byte) error {
	i := skipSpace(raw, 0)
	if raw[i] != '{' {
		return errors.New("not a JSON object")
	}
	i = skipSpace(raw, i+1)
	if raw[i] == '}' {
		return nil
	}
	var seen uint8
	for {
		end := stringEnd(raw, i)
		key := unquote(raw[i:end])
		bit, known := keyBit(key)
		if !known {
			return fmt.Errorf("unknown key %q (keys are case-sensitive: message, host, source, time)", key)
		}
		if seen&bit != 0 {
			return fmt.Errorf("duplicate key %q", key)
		}
		seen |= bit
		i = skipSpace(raw, skipSpace(raw, end)+1) // past ':'
		switch raw[i] {
		case '"':
			i = stringEnd(raw, i)
		case 'n':
			i += len("null")
		default:
			return fmt.Errorf("%q must be a string", key)
		}
		if i = skipSpace(raw, i); raw[i] == '}' {
			return nil
		}
		i = skipSpace(raw, i+1) // past ','
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd is the index after the closing quote of the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	j := i + 1
	for b[j] != '"' {
		if b[j] == '\\' {
			j++
		}
		j++
	}
	return j + 1
}

// unquote is the content of a quoted JSON string (decoded only when it has escapes).
func unquote(q []byte) []byte {
	if bytes.IndexByte(q, '\\') < 0 {
		return q[1 : len(q)-1]
	}
	var s string
	_ = json.Unmarshal(q, &s)
	return []byte(s)
}

// wireRecord reads a line decodeRecord accepted: its keys are exact and unique, so the
// case-insensitive matching of encoding/json cannot pick a wrong one.
type wireRecord struct {
	Message *string `json:"message"`
	Host    *string `json:"host"`
	Source  *string `json:"source"`
	Time    *string `json:"time"`
}

// decodeChecked is decodeRecord for a line already checked by it, at a fraction of the cost.
func decodeChecked(raw []byte) record {
	var w wireRecord
	_ = json.Unmarshal(raw, &w)
	var rec record
	get := func(p *string, bit uint8) string {
		if p == nil || *p == "" {
			return ""
		}
		rec.set |= bit
		return *p
	}
	rec.message = get(w.Message, 0)
	rec.host = get(w.Host, setHost)
	rec.source = get(w.Source, setSource)
	rec.time = get(w.Time, setTime)
	return rec
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf(`"time" must be RFC 3339 (2006-01-02T15:04:05Z), got %q`, s)
	}
	return t, nil
}

func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// asserted names the keys a client set, for fields["ingest.asserted"].
func asserted(set uint8) string {
	var parts []string
	for _, k := range []struct {
		bit  uint8
		name string
	}{{setHost, "host"}, {setSource, "source"}, {setTime, "time"}} {
		if set&k.bit != 0 {
			parts = append(parts, k.name)
		}
	}
	return strings.Join(parts, ",")
}
