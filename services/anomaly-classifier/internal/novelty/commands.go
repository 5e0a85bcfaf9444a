package novelty

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// CommandsConfig tunes the command novelty detector (keys under commands.*).
type CommandsConfig struct {
	FleetWarmup    int           `mapstructure:"fleet_warmup" desc:"commands seen (with fleet_warmup_span) before an executable new to the fleet is reported"`
	FleetWarmSpan  time.Duration `mapstructure:"fleet_warmup_span" desc:"event time of commands seen before an executable new to the fleet is reported"`
	UserWarmup     int           `mapstructure:"user_warmup" desc:"commands of a user before a command shape new to the user is reported"`
	UserWarmSpan   time.Duration `mapstructure:"user_warmup_span" desc:"time since a user's first command before a shape new to the user is reported"`
	MaxExecutables int           `mapstructure:"max_executables" desc:"most executables remembered for the fleet (least recently run forgotten)"`
	MaxShapes      int           `mapstructure:"max_shapes" desc:"most (user, command shape) pairs remembered (least recently run forgotten)"`
	MaxUsers       int           `mapstructure:"max_users" desc:"most users whose usual executables are remembered"`
}

// DefaultCommandsConfig: the fleet learns its executables over 500 commands and an
// hour; a user is judged after 20 commands over 20 hours (a working day), the same
// bar the per-user baselines use, so a new hire's first day is not a stream of
// findings.
func DefaultCommandsConfig() CommandsConfig {
	return CommandsConfig{FleetWarmup: 500, FleetWarmSpan: time.Hour, UserWarmup: 20, UserWarmSpan: 20 * time.Hour,
		MaxExecutables: 10000, MaxShapes: 200000, MaxUsers: 100000}
}

// Validate names the key of the first invalid setting.
func (c CommandsConfig) Validate() error {
	switch {
	case c.FleetWarmup < 0:
		return fmt.Errorf("commands.fleet_warmup: must be ≥ 0, got %d", c.FleetWarmup)
	case c.UserWarmup < 0:
		return fmt.Errorf("commands.user_warmup: must be ≥ 0, got %d", c.UserWarmup)
	case c.FleetWarmSpan < 0:
		return fmt.Errorf("commands.fleet_warmup_span: must be ≥ 0, got %s", c.FleetWarmSpan)
	case c.UserWarmSpan < 0:
		return fmt.Errorf("commands.user_warmup_span: must be ≥ 0, got %s", c.UserWarmSpan)
	case c.MaxExecutables < 2:
		return fmt.Errorf("commands.max_executables: must be ≥ 2, got %d", c.MaxExecutables)
	case c.MaxShapes < 2:
		return fmt.Errorf("commands.max_shapes: must be ≥ 2, got %d", c.MaxShapes)
	case c.MaxUsers < 2:
		return fmt.Errorf("commands.max_users: must be ≥ 2, got %d", c.MaxUsers)
	}
	return nil
}

// usualKept is how many of a user's executables are remembered with their counts.
const usualKept = 8

// User is what Commands remembers of one user.
type User struct {
	Commands  int64
	First     int64 // Unix seconds of the first command
	Exes      [usualKept]string
	Counts    [usualKept]int32
	Partition int32 // partition of the input topic its events came from (-1: unknown)
}

// Commands reports an executable never run in the fleet and a command shape never
// run by the user (command and sudo events). Every command line shares one log
// template, so template novelty cannot see these. Not safe for concurrent use.
type Commands struct {
	cfg    CommandsConfig
	hash   *detect.Hasher
	exes   *detect.Gen[string, int64]
	shapes *detect.Gen[uint64, struct{}]
	users  *detect.Gen[string, *User]
	seen   int64
	start  int64
	masker *template.Masker
	forms  [][]byte
}

// NewCommands returns an empty detector; cfg must be valid; h keys the shape hashes.
func NewCommands(cfg CommandsConfig, h *detect.Hasher) *Commands {
	return &Commands{cfg: cfg, hash: h, masker: template.NewMasker(), exes: detect.NewGen[string, int64](cfg.MaxExecutables),
		shapes: detect.NewGen[uint64, struct{}](cfg.MaxShapes), users: detect.NewGen[string, *User](cfg.MaxUsers)}
}

// Detect implements detect.Detector.
func (d *Commands) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	ev := e.Log
	if a := ev.GetAction(); (a != "command" && a != "sudo") || ev.GetTarget() == "" {
		return out
	}
	exe, rest := Executable(ev.GetTarget())
	if exe == "" {
		return out
	}
	sec, timeless := e.Time.Unix(), e.Time.IsZero() // without a time, warm-ups count lines only
	fleetWarm := d.seen >= int64(d.cfg.FleetWarmup) && (timeless || sec-d.start >= int64(d.cfg.FleetWarmSpan/time.Second))
	d.seen++
	if !timeless && (d.start == 0 || sec < d.start) {
		d.start = sec
	}
	n, known := d.exes.Get(exe)
	if !known {
		exe = strings.Clone(exe) // a key must not pin the whole command line
	}
	d.exes.Put(exe, n+1)

	user := ev.GetUser()
	var u *User
	newShape := false
	if user != "" {
		var ok bool
		if u, ok = d.users.Get(user); !ok {
			u = &User{First: sec}
			d.users.Put(strings.Clone(user), u)
		}
		u.Partition = e.Partition
		if sec < u.First {
			u.First = sec
		}
		k := d.shapeKey(user, exe, rest)
		if _, ok := d.shapes.Get(k); !ok {
			newShape = true
			d.shapes.Put(k, struct{}{})
		}
	}
	userWarm := u != nil && u.Commands >= int64(d.cfg.UserWarmup) && (timeless || sec-u.First >= int64(d.cfg.UserWarmSpan/time.Second))
	switch {
	case !known && fleetWarm:
		who, cmd := detect.Sanitize(e.Entity), detect.Sanitize(detect.Clip(ev.GetTarget(), 120))
		f := &logwardenpb.Finding{Detector: "commands", RuleId: "commands.new-executable", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.3,
			Title:  "Executable never run in the fleet",
			Reason: fmt.Sprintf("%s runs %s, never run here before: %s%s", who, detect.Sanitize(detect.Clip(exe, 60)), cmd, u.usual())}
		out = append(out, detect.Detection{Finding: f, Candidate: true})
	case newShape && userWarm:
		who, cmd := detect.Sanitize(e.Entity), detect.Sanitize(detect.Clip(ev.GetTarget(), 120))
		f := &logwardenpb.Finding{Detector: "commands", RuleId: "commands.new-shape", Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.3,
			Title:  "Command never run by this user",
			Reason: fmt.Sprintf("%s runs a command of a kind never seen for this user: %s%s", who, cmd, u.usual())}
		out = append(out, detect.Detection{Finding: f, Candidate: true})
	}
	if u != nil {
		u.Commands++
		u.count(exe)
	}
	return out
}

// shapeKey hashes the user, the executable and the rest of the command line with
// its values masked (numbers, paths, quoted strings, hex: template.Mask).
func (d *Commands) shapeKey(user, exe, rest string) uint64 {
	d.forms = d.masker.Forms(rest, d.forms[:0])
	h := d.hash.Start()
	h.String(user)
	h.Byte(0)
	h.String(exe)
	for i, t := range d.forms {
		if i == 32 {
			break
		}
		h.Byte(' ')
		h.Bytes(t)
	}
	return h.Sum()
}

func (u *User) count(exe string) {
	low := 0
	for i := range u.Exes {
		if u.Exes[i] == exe {
			u.Counts[i]++
			return
		}
		if u.Counts[i] < u.Counts[low] {
			low = i
		}
	}
	// replace the least used: a new habit takes the place of an old rare one
	u.Exes[low], u.Counts[low] = strings.Clone(exe), 1
}

// usual lists the user's most used executables, for the reason (and the LLM).
func (u *User) usual() string {
	if u == nil {
		return ""
	}
	idx := make([]int, 0, usualKept)
	for i := range u.Exes {
		if u.Exes[i] != "" {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return ""
	}
	sort.Slice(idx, func(a, b int) bool { return u.Counts[idx[a]] > u.Counts[idx[b]] })
	names := make([]string, 0, 5)
	for _, i := range idx[:min(5, len(idx))] {
		names = append(names, detect.Sanitize(detect.Clip(u.Exes[i], 40)))
	}
	return " (usually runs: " + strings.Join(names, ", ") + ")"
}

// wrappers run the command that follows them.
var wrappers = map[string]bool{"sudo": true, "doas": true, "env": true, "nohup": true, "time": true, "nice": true,
	"exec": true, "command": true, "builtin": true, "stdbuf": true, "timeout": true, "ionice": true, "setsid": true}

// Executable returns the program a command line runs (the base name of its first
// word, after environment assignments and wrappers such as sudo or env) and the
// rest of the line.
func Executable(cmd string) (exe, rest string) {
	s := cmd
	for i := 0; i < 8; i++ {
		s = strings.TrimLeft(s, " \t")
		tok, r, _ := strings.Cut(s, " ")
		tok = strings.Trim(tok, `"'();&|{}`)
		switch {
		case tok == "":
			return "", ""
		case strings.Contains(tok, "=") && !strings.HasPrefix(tok, "-"):
			s = r // VAR=value
			continue
		}
		base := tok[strings.LastIndexByte(tok, '/')+1:]
		if wrappers[base] {
			s = r
			// the wrapper's own options ("sudo -u root", "timeout 5")
			for {
				s = strings.TrimLeft(s, " \t")
				opt, r2, _ := strings.Cut(s, " ")
				if strings.HasPrefix(opt, "-") || (base == "timeout" && opt != "" && opt[0] >= '0' && opt[0] <= '9') {
					s = r2
					if opt == "-u" || opt == "-g" {
						_, s, _ = strings.Cut(strings.TrimLeft(s, " "), " ")
					}
					continue
				}
				break
			}
			continue
		}
		if base == "" {
			return "", ""
		}
		return base, r
	}
	return "", ""
}

// Executables is the number of executables remembered.
func (d *Commands) Executables() int { return d.exes.Len() }
