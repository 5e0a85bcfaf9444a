package decode

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// JSON decodes one JSON object per record as shippers write them: the line in
// "log" (Fluent Bit) or "message" (Vector, Filebeat, Logstash); host in "host"
// (string, or ECS {"name": …}), "hostname" or "host.name"; source in "source",
// "file" or "log.file.path" (nested or dotted); time in "time", "timestamp",
// "@timestamp" or "date", as RFC 3339 or epoch seconds / milliseconds.
type JSON struct{ Parser *logparse.Parser }

// Decode implements Decoder.
func (d JSON) Decode(m kafkax.Message, ev *logwardenpb.LogEvent) error {
	var obj map[string]any
	if err := json.Unmarshal(m.Value, &obj); err != nil {
		return fmt.Errorf("%w: %w", ErrJSON, err)
	}
	if obj == nil {
		return fmt.Errorf("%w: not an object", ErrJSON)
	}
	line, ok := firstString(obj, "log", "message")
	if !ok {
		return ErrNoMessage
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return fmt.Errorf("%w: empty log line", ErrEmpty)
	}
	ev.Id = RecordID(m)
	ev.Host, _ = firstString(obj, "host", "hostname", "host.name")
	if ev.Host == "" {
		ev.Host, _ = nested(obj, "host", "name")
	}
	ev.Source, _ = firstString(obj, "source", "file", "log.file.path")
	if ev.Source == "" {
		ev.Source, _ = nested(obj, "log", "file", "path")
	}
	if ev.Source == "" {
		ev.Source = "kafka:" + m.Topic
	}
	var shipper *time.Time
	for _, k := range [...]string{"@timestamp", "timestamp", "time", "date"} {
		if t, ok := parseTime(obj[k]); ok {
			shipper = &t
			break
		}
	}
	d.Parser.Parse(line, ev)
	if ev.Level == logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED {
		// the shipper's level field when the line itself does not say
		lv, ok := firstString(obj, "level", "severity", "log.level")
		if !ok {
			lv, _ = nested(obj, "log", "level")
		}
		ev.Level = logparse.ParseLevel(lv)
	}
	fillTimes(ev, m, shipper)
	return nil
}

func firstString(obj map[string]any, keys ...string) (string, bool) {
	for _, k := range keys {
		if s, ok := obj[k].(string); ok {
			return s, true
		}
	}
	return "", false
}

func nested(obj map[string]any, path ...string) (string, bool) {
	var cur any = obj
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		cur = m[k]
	}
	s, ok := cur.(string)
	return s, ok
}

// parseTime reads RFC 3339 strings and epoch numbers (seconds, or
// milliseconds when larger than 1e11, i.e. past the year 5138 in seconds).
func parseTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		return t, err == nil
	case float64:
		if x <= 0 || math.IsInf(x, 0) || math.IsNaN(x) || x > 1e15 {
			return time.Time{}, false
		}
		if x > 1e11 {
			return time.UnixMilli(int64(x)).UTC(), true
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	return time.Time{}, false
}
