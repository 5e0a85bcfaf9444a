package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// A storm of failed logins from many addresses against one host becomes a few
// grouped alerts with counts, not one per address.
func TestBruteForceStormGrouped(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{Now: func() time.Time { return t0 }})
	var alerts []*logwardenpb.Alert
	at := t0
	for ip := 1; ip <= 40; ip++ { // 40 addresses, 6 tries each, a minute apart
		for try := 0; try < 6; try++ {
			at = at.Add(2 * time.Second)
			l := fmt.Sprintf("%s srv sshd[42]: Failed password for root%d from 203.0.113.%d port 5555 ssh2", at.Format(time.Stamp), ip, ip)
			alerts = append(alerts, eng.Process(line(t, p, l, fmt.Sprintf("e%d-%d", ip, try))).Alerts...)
		}
		at = at.Add(time.Minute)
	}
	var storms, single int
	var last *logwardenpb.Alert
	for _, a := range alerts {
		if a.GetFindings()[0].GetRuleId() != "brute-force-ip" {
			continue
		}
		if strings.HasSuffix(a.Title, "(storm)") {
			storms++
			last = a
			if a.Entity != "srv" || a.Fingerprint != "rules/brute-force-ip/srv" {
				t.Fatalf("storm alert %v", a)
			}
		} else {
			single++
		}
	}
	// the first address alone, then storm alerts at 1, 2, 4, 8, 16, 32 more
	if single != 1 || storms != 6 || last.Count != 33 {
		t.Fatalf("%d single, %d storm alerts (last count %d), want 1, 6, 33", single, storms, last.GetCount())
	}
	if !strings.Contains(last.Summary, "32 more after 203.0.113.1") {
		t.Fatalf("storm summary %q", last.Summary)
	}
}

// The line's own level works from the first line: a new error pattern alerts once,
// a fatal one stays anomalous until accepted, an info one never alone.
func TestLevelNoveltyFromLineOne(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	lines := []struct {
		raw       string
		anomalous bool
		alerts    int
	}{
		{"2026-01-05 10:00:00,001 INFO [main] server started on port 8080", false, 0},
		{"2026-01-05 10:00:01,001 ERROR [db] connection refused to db1:5432", true, 1},
		{"2026-01-05 10:00:02,001 ERROR [db] connection refused to db2:5432", false, 0},
		{"2026-01-05 10:00:03,001 FATAL [main] out of memory, shutting down", true, 1},
		{"2026-01-05 10:00:04,001 INFO [main] server started on port 8081", false, 0},
	}
	for i, l := range lines {
		res := eng.Process(line(t, p, l.raw, fmt.Sprint("l", i)))
		if res.Verdict.Anomalous != l.anomalous || len(res.Alerts) != l.alerts {
			t.Fatalf("line %d: anomalous %v alerts %d, want %v %d (%v)", i+1, res.Verdict.Anomalous, len(res.Alerts), l.anomalous, l.alerts, res.Verdict.Findings)
		}
	}
}

func TestAcceptTemplate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Template.WarmupEvents, cfg.Template.WarmupSpan = 0, 0
	eng, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	eng.Process(line(t, p, "2026-01-05 10:00:00,001 INFO [main] warm", "w"))
	fatal := "2026-01-05 10:00:01,001 FATAL [disk] controller reset on sda"
	res := eng.Process(line(t, p, fatal, "f1"))
	if !res.Verdict.Anomalous {
		t.Fatal("new fatal pattern not anomalous")
	}
	if ok, err := eng.Accept("template:" + res.Verdict.TemplateId); !ok || err != nil {
		t.Fatalf("Accept: %v %v", ok, err)
	}
	if res := eng.Process(line(t, p, fatal, "f2")); res.Verdict.Anomalous {
		t.Fatalf("accepted pattern still anomalous: %v", res.Verdict.Findings)
	}
	if _, err := eng.Accept("nonsense"); err == nil {
		t.Fatal("Accept of a malformed scope did not fail")
	}
}

func TestCandidateAfterWarmup(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := logparse.New(logparse.Options{})
	at := t0
	for i := 0; i < 300; i++ { // warm-up: 300 lines over 100 minutes
		at = t0.Add(time.Duration(i) * 20 * time.Second)
		if res := eng.Process(line(t, p, at.Format("2006-01-02 15:04:05,000")+" INFO [main] heartbeat "+fmt.Sprint(i), "")); res.Candidate {
			t.Fatalf("line %d of the warm-up is an LLM candidate", i)
		}
	}
	res := eng.Process(line(t, p, at.Format("2006-01-02 15:04:05,000")+" INFO [cron] rotating the keys of every tenant", ""))
	if !res.Candidate || res.Verdict.Anomalous {
		t.Fatalf("new info pattern after the warm-up: candidate %v anomalous %v %v %v", res.Candidate, res.Verdict.Anomalous, res.Verdict.Findings, res.Verdict.Template)
	}
}
