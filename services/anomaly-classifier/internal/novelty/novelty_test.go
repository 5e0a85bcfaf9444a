package novelty

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

const (
	info  = logwardenpb.LogLevel_LOG_LEVEL_INFO
	errL  = logwardenpb.LogLevel_LOG_LEVEL_ERROR
	fatal = logwardenpb.LogLevel_LOG_LEVEL_CRITICAL
)

func event(tid string, lvl logwardenpb.LogLevel, at time.Time) *detect.Event {
	ev := &logwardenpb.LogEvent{Raw: tid, Host: "node-1", Level: lvl}
	e := detect.NewEvent(ev, at, template.Match{ID: tid, Template: "template " + tid})
	return &e
}

func rules(ds []detect.Detection) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%s:%.1f", d.Finding.GetRuleId(), d.Finding.GetScore()))
	}
	return strings.Join(s, ",")
}

// warm runs the warm-up (200 info lines of one template over an hour).
func warm(t *testing.T, d *Templates) time.Time {
	t.Helper()
	at := t0
	for i := 0; i <= 200; i++ {
		at = t0.Add(time.Duration(i) * 20 * time.Second)
		d.Detect(event("routine", info, at), nil)
	}
	if !d.Warm() {
		t.Fatal("not warm after 201 events over more than an hour")
	}
	return at
}

func TestTemplatesLevelAndNovelty(t *testing.T) {
	type step struct {
		tid  string
		lvl  logwardenpb.LogLevel
		at   time.Duration // after the warm-up
		want string
	}
	tests := []struct {
		name  string
		cold  bool // no warm-up first
		steps []step
	}{
		{"level works from the first line", true, []step{
			{"e1", errL, 0, "template.new-error:0.6"},
			{"e1", errL, time.Minute, "template.new-error:0.3"}, // in the warm-up: the first line alerts, later ones add weight
			{"f1", fatal, 2 * time.Minute, "template.new-error:0.8"},
			{"f1", fatal, 3 * time.Minute, "template.new-error:0.3"},
			{"i1", info, 4 * time.Minute, ""}, // info novelty waits for the warm-up
		}},
		{"after the warm-up", false, []step{
			{"routine", errL, 0, ""}, // learnt in the warm-up: baseline, even at error level
			{"i2", info, time.Minute, "template.new:0.2"},
			{"i2", info, 2 * time.Minute, ""},
			{"w2", logwardenpb.LogLevel_LOG_LEVEL_WARNING, 3 * time.Minute, "template.new:0.3"},
			{"e2", errL, 4 * time.Minute, "template.new-error:0.6"},
			{"e2", errL, 5 * time.Minute, "template.new-error:0.6"}, // new until accepted
			{"f2", fatal, 4 * time.Minute, "template.new-error:0.8"},
			{"f2", fatal, 5 * time.Minute, "template.new-error:0.8"},
			{"f2", fatal, 50 * 24 * time.Hour, "template.new-error:0.8"}, // critical: never routine
		}},
		{"routine after 2 days", false, []step{
			{"e4", errL, 0, "template.new-error:0.6"},
			{"e4", errL, 24 * time.Hour, ""}, // the second day makes it routine
		}},
		{"routine after 30 lines over 2 hours", false, []step{
			{"e5", errL, 0, "template.new-error:0.6"},
			{"e5", errL, time.Hour, "template.new-error:0.6"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewTemplates(DefaultTemplatesConfig())
			base := t0
			if !tt.cold {
				base = warm(t, d).Add(time.Second)
			}
			for i, s := range tt.steps {
				ds := d.Detect(event(s.tid, s.lvl, base.Add(s.at)), nil)
				if got := rules(ds); got != s.want {
					t.Fatalf("step %d (%s): %q, want %q", i, s.tid, got, s.want)
				}
			}
		})
	}
}

func TestTemplatesRoutine(t *testing.T) {
	tests := []struct {
		name   string
		step   time.Duration
		lines  int // the last of them is accepted
		remain bool
	}{
		{"6 distinct hours", time.Hour, 6, false},
		{"30 lines over 2 hours", 3 * time.Minute, 30, false},
		{"a burst within an hour stays new", time.Second, 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewTemplates(DefaultTemplatesConfig())
			base := warm(t, d).Add(time.Second)
			for i := 0; i < tt.lines; i++ {
				got := rules(d.Detect(event("e", errL, base.Add(time.Duration(i)*tt.step)), nil))
				last := i == tt.lines-1 && !tt.remain
				if (got == "") != last {
					t.Fatalf("line %d: %q (accepted %v, want %v)", i, got, got == "", last)
				}
			}
			if k, _ := d.Known("e"); (k.Accepted == Routine) == tt.remain {
				t.Fatalf("accepted %d", k.Accepted)
			}
		})
	}
}

func TestTemplatesAccept(t *testing.T) {
	d := NewTemplates(DefaultTemplatesConfig())
	base := warm(t, d).Add(time.Second)
	d.Detect(event("f", fatal, base), nil)
	if !d.Accept("f") || d.Accept("unknown") {
		t.Fatal("Accept: known template not accepted, or unknown one accepted")
	}
	if got := rules(d.Detect(event("f", fatal, base.Add(time.Minute)), nil)); got != "" {
		t.Fatalf("accepted template still reported: %q", got)
	}
}

func TestRare(t *testing.T) {
	d := NewRare(DefaultRareConfig(), detect.NewHasher())
	for i := 0; i < 1001; i++ {
		d.Detect(event("busy", info, t0), nil)
	}
	e := event("rare", errL, t0)
	if got := rules(d.Detect(e, nil)); got != "template.rare:0.3" {
		t.Fatalf("rare error line: %q", got)
	}
	for i := 0; i < 3; i++ {
		d.Detect(e, nil)
	}
	if got := rules(d.Detect(e, nil)); got != "" {
		t.Fatalf("fifth line still rare: %q", got)
	}
	if got := rules(d.Detect(event("other", info, t0), nil)); got != "template.rare:0.2" {
		t.Fatalf("template rare on this host: %q", got)
	}
	fresh := event("fresh", info, t0)
	fresh.Template.New = true // new to the fleet: Templates reports it, not Rare
	if got := rules(d.Detect(fresh, nil)); got != "" {
		t.Fatalf("fleet-new template reported as rare: %q", got)
	}
}

func TestExecutable(t *testing.T) {
	tests := []struct{ cmd, exe string }{
		{"ls -la /tmp", "ls"},
		{"/usr/bin/curl -s http://x", "curl"},
		{"sudo -u root systemctl restart nginx", "systemctl"},
		{"sudo /bin/cat /etc/shadow", "cat"},
		{"LD_PRELOAD=/tmp/x.so env FOO=1 nohup ./miner --pool x", "miner"},
		{"timeout 5 nc -l 4444", "nc"},
		{"  ", ""},
	}
	for _, tt := range tests {
		if got, _ := Executable(tt.cmd); got != tt.exe {
			t.Errorf("Executable(%q) = %q, want %q", tt.cmd, got, tt.exe)
		}
	}
}

func TestCommands(t *testing.T) {
	d := NewCommands(DefaultCommandsConfig(), detect.NewHasher())
	cmd := func(user, c string, at time.Time) string {
		ev := &logwardenpb.LogEvent{User: user, Action: "command", Target: c}
		e := detect.NewEvent(ev, at, template.Match{ID: "cmd"})
		ds := d.Detect(&e, nil)
		if len(ds) == 1 && !ds[0].Candidate {
			t.Fatalf("command novelty is not an LLM candidate")
		}
		if len(ds) == 1 {
			return ds[0].Finding.GetRuleId() + " | " + ds[0].Finding.GetReason()
		}
		return rules(ds)
	}
	// a day of routine: bob runs ls, git and vim with varying arguments
	for i := 0; i < 600; i++ {
		at := t0.Add(time.Duration(i) * 3 * time.Minute)
		for j, c := range []string{"ls -la /home/bob/%d", "git pull origin b%d", "vim notes-%d.txt"} {
			if got := cmd("bob", fmt.Sprintf(c, i), at.Add(time.Duration(j)*time.Second)); got != "" {
				t.Fatalf("routine command %d reported: %s", i, got)
			}
		}
	}
	at := t0.Add(31 * time.Hour)
	if got := cmd("bob", "ls -la /var/tmp/x1", at); got != "" {
		t.Fatalf("known shape with new values reported: %s", got)
	}
	if got := cmd("bob", "git push --force origin main", at); !strings.HasPrefix(got, "commands.new-shape | bob runs a command of a kind never seen for this user: git push --force origin main (usually runs: ") {
		t.Fatalf("new shape: %s", got)
	}
	if got := cmd("bob", "xmrig --donate-level 1 -o pool.example:3333", at); !strings.HasPrefix(got, "commands.new-executable | bob runs xmrig, never run here before") {
		t.Fatalf("new executable: %s", got)
	}
	if got := cmd("carol", "xmrig -o pool.example:3333", at); got != "" {
		t.Fatalf("executable seen in the fleet, cold user: %s", got)
	}
}
