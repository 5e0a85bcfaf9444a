package volume

import (
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func line(tid, host string, lvl logwardenpb.LogLevel, at time.Time, partition int32) *detect.Event {
	ev := &logwardenpb.LogEvent{Raw: tid, Host: host, Level: lvl}
	e := detect.NewEvent(ev, at, template.Match{ID: tid, Template: "t " + tid})
	e.Partition = partition
	return &e
}

func ids(ds []detect.Detection) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Finding.GetRuleId())
	}
	return strings.Join(s, ",")
}

func TestTemplateRateSpikeAndDrop(t *testing.T) {
	d := NewTemplateRate(DefaultRateConfig())
	// four days of two templates at a steady 60 lines an hour each
	var got []string
	for h := 0; h < 4*24; h++ {
		for i := 0; i < 60; i++ {
			at := t0.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Minute)
			got = append(got, ids(d.Detect(line("steady", "web1", 0, at, -1), nil)), ids(d.Detect(line("other", "web1", 0, at, -1), nil)))
		}
	}
	if s := strings.Join(got, ""); s != "" {
		t.Fatalf("steady traffic reported: %s", s)
	}
	day5 := t0.Add(4 * 24 * time.Hour)
	// a spike: 400 lines in the first ten minutes; reported once
	spikes := 0
	for i := 0; i < 400; i++ {
		for _, dd := range d.Detect(line("steady", "web1", 0, day5.Add(time.Duration(i)*time.Second), -1), nil) {
			if dd.Finding.GetRuleId() == "volume.template-spike" {
				spikes++
			}
		}
	}
	if spikes != 1 {
		t.Fatalf("%d spike findings, want 1", spikes)
	}
	// the next hour only 3 lines of it while the other template goes on; the hour
	// after closes it: a drop, detached
	for i := 0; i < 60; i++ {
		at := day5.Add(time.Hour + time.Duration(i)*time.Minute)
		if i < 3 {
			d.Detect(line("steady", "web1", 0, at, -1), nil)
		}
		d.Detect(line("other", "web1", 0, at, -1), nil)
	}
	ds := d.Detect(line("other", "web1", 0, day5.Add(2*time.Hour), -1), nil)
	if ids(ds) != "volume.template-drop" || !ds[0].Detached || ds[0].Entity != "web1" {
		t.Fatalf("drop: %v", ds)
	}
	// a quiet hour for everything (a weekend night) is not a drop of one template
	for i := 0; i < 6; i++ {
		at := day5.Add(2*time.Hour + time.Duration(i)*time.Minute)
		d.Detect(line("steady", "web1", 0, at, -1), nil)
		d.Detect(line("other", "web1", 0, at, -1), nil)
	}
	if ds := d.Detect(line("other", "web1", 0, day5.Add(3*time.Hour), -1), nil); len(ds) != 0 {
		t.Fatalf("all quieter: %v", ds)
	}
}

func TestErrorRate(t *testing.T) {
	d := NewErrorRate(DefaultErrorsConfig())
	// two hours of a few errors a bucket
	for m := 0; m < 120; m++ {
		lvl := logwardenpb.LogLevel_LOG_LEVEL_INFO
		if m%5 == 0 {
			lvl = logwardenpb.LogLevel_LOG_LEVEL_ERROR
		}
		if got := ids(d.Detect(line("x", "db1", lvl, t0.Add(time.Duration(m)*time.Minute), -1), nil)); got != "" {
			t.Fatalf("minute %d: %s", m, got)
		}
	}
	n := 0
	for i := 0; i < 50; i++ {
		n += len(d.Detect(line("x", "db1", logwardenpb.LogLevel_LOG_LEVEL_ERROR, t0.Add(2*time.Hour+time.Duration(i)*time.Second), -1), nil))
	}
	if n != 1 {
		t.Fatalf("%d error-spike findings for a burst, want 1", n)
	}
	// a cold host: its first hour is not judged
	for i := 0; i < 50; i++ {
		if got := ids(d.Detect(line("x", "new", logwardenpb.LogLevel_LOG_LEVEL_ERROR, t0.Add(time.Duration(i)*time.Second), -1), nil)); got != "" {
			t.Fatalf("cold host: %s", got)
		}
	}
}

func TestSilence(t *testing.T) {
	d := NewSilence(DefaultSilenceConfig(), 100)
	// two hosts on partition 0 log every 10 s; a third host on partition 1
	at := t0
	for i := 0; i < 300; i++ {
		at = t0.Add(time.Duration(i) * 10 * time.Second)
		for _, h := range []string{"a", "b"} {
			if got := ids(d.Detect(line("x", h, 0, at, 0), nil)); got != "" {
				t.Fatalf("talking hosts: %s", got)
			}
		}
		d.Detect(line("x", "c", 0, at, 1), nil)
	}
	// b stops; a keeps talking on partition 0; partition 1 stops too (moved away)
	var silent []detect.Detection
	for i := 1; i <= 200; i++ {
		silent = append(silent, d.Detect(line("x", "a", 0, at.Add(time.Duration(i)*10*time.Second), 0), nil)...)
	}
	if len(silent) != 1 || silent[0].Entity != "b" || !silent[0].Detached || silent[0].Finding.GetRuleId() != "volume.silence" {
		t.Fatalf("silence findings %v, want one about b", silent)
	}
	// b talks again: it may be reported again later
	d.Detect(line("x", "b", 0, at.Add(2001*time.Second), 0), nil)
	if tk, _ := d.talkers.Peek("b"); tk.Silent {
		t.Fatal("b still marked silent after it talked")
	}
}
