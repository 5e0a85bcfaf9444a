package generator

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/brianvoe/gofakeit/v6"
)

// User is one simulated person with habits.
type User struct {
	Name string
	// IPs the user logs in from: one office address, and zero to two home addresses.
	IPs []string
	// Start and End bound the working hours [Start, End) in UTC; End < Start wraps midnight
	// (night shift: the shift belongs to the day it starts).
	Start, End int
	// Weekends: the user also works Saturday and Sunday.
	Weekends bool
	Dept     string
	Ops      bool
	Files    []string
	Dirs     []string
	Commands []string
}

// Active reports whether t falls in the user's working hours.
func (u *User) Active(t time.Time) bool {
	t = t.UTC()
	h, day := t.Hour(), t.Weekday()
	in := false
	if u.Start <= u.End {
		in = h >= u.Start && h < u.End
	} else {
		in = h >= u.Start || h < u.End
		if h < u.End { // after midnight: the shift started yesterday
			day = (day + 6) % 7
		}
	}
	if !in {
		return false
	}
	return u.Weekends || (day != time.Saturday && day != time.Sunday)
}

// FarOff reports whether t is at least margin away from any of the user's working hours
// (ignoring the weekday: a weekday-only user at 14:00 on Sunday is not far off).
func (u *User) FarOff(t time.Time, margin time.Duration) bool {
	for d := -margin; d <= margin; d += 30 * time.Minute {
		tt := t.Add(d).UTC()
		h := tt.Hour()
		if u.Start <= u.End && h >= u.Start && h < u.End {
			return false
		}
		if u.Start > u.End && (h >= u.Start || h < u.End) {
			return false
		}
	}
	return true
}

// Address ranges. Offices and VPN are private; homes are a few consumer ISP blocks. The
// far ranges are never used by the population: attackers and new_far_ip come from them.
var (
	officeRanges = []string{"10.10.%d.%d", "10.20.%d.%d", "172.16.%d.%d"}
	homeRanges   = []string{"82.120.%d.%d", "91.64.%d.%d", "73.158.%d.%d", "86.12.%d.%d"}
	farRanges    = []string{"185.220.%d.%d", "45.133.%d.%d", "103.75.%d.%d", "196.251.%d.%d", "91.240.%d.%d"}
)

var departments = []string{"finance", "engineering", "sales", "hr", "marketing", "legal", "support", "ops"}

var fileExts = []string{"txt", "md", "pdf", "docx", "xlsx", "csv", "pptx", "png", "go", "py", "html", "json", "log"}

var benignCommands = []string{
	"ls -la", "git status", "git pull", "git log --oneline -n 20", "make test", "go build ./...",
	"python3 manage.py runserver", "npm install", "npm run build", "vim notes.md", "cat README.md",
	"grep -rn TODO .", "df -h", "top", "htop", "ps aux", "docker ps", "docker compose up -d",
	"kubectl get pods", "tail -n 100 app.log", "ssh build01", "scp report.pdf fileserver:",
	"pytest -q", "curl -s https://api.internal.example/health", "du -sh *", "tar czf backup.tgz docs",
	"less README.md", "code .", "pwd", "whoami", "history | tail", "openssl version", "wget https://releases.example.com/tool.tar.gz",
}

var opsCommands = []string{
	"sudo systemctl restart nginx", "sudo journalctl -u app --since today", "kubectl rollout restart deploy/api",
	"terraform plan", "ansible-playbook site.yml --check", "sudo apt-get update", "kubectl logs deploy/api",
	"systemctl status postgresql", "sudo tail -f /var/log/syslog", "crontab -l",
}

func newPopulation(n int, seed int64, rng *rand.Rand) []*User {
	fake := gofakeit.New(seed)
	users := make([]*User, 0, n)
	taken := make(map[string]bool, n)
	for len(users) < n {
		name := strings.ToLower(fake.FirstName())
		name = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return -1
		}, name)
		if name == "" {
			continue
		}
		name = fmt.Sprintf("%s%02d", name, rng.IntN(100))
		if taken[name] {
			continue
		}
		taken[name] = true
		users = append(users, newUser(name, fake, rng))
	}
	return users
}

func newUser(name string, fake *gofakeit.Faker, rng *rand.Rand) *User {
	u := &User{Name: name, Dept: departments[rng.IntN(len(departments))]}
	u.Ops = u.Dept == "ops" || u.Dept == "engineering" && rng.IntN(3) == 0
	switch r := rng.Float64(); {
	case r < 0.70: // day shift
		u.Start = 7 + rng.IntN(4)
		u.End = u.Start + 8 + rng.IntN(3)
	case r < 0.85: // late shift
		u.Start = 13 + rng.IntN(3)
		u.End = (u.Start + 9) % 24
	default: // night shift
		u.Start = 21 + rng.IntN(3)
		u.End = (u.Start + 9) % 24
	}
	u.Weekends = u.Ops || rng.IntN(10) == 0
	u.IPs = append(u.IPs, randIP(officeRanges[rng.IntN(len(officeRanges))], rng))
	for i := rng.IntN(3); i > 0; i-- {
		u.IPs = append(u.IPs, randIP(homeRanges[rng.IntN(len(homeRanges))], rng))
	}
	home := "/home/" + name
	subdirs := []string{"docs", "projects/" + slug(fake.HackerNoun()), "reports", "notes", "downloads"}
	for i, nFiles := 0, 4+rng.IntN(9); i < nFiles; i++ {
		word := fileWord(fake)
		ext := fileExts[rng.IntN(len(fileExts))]
		if rng.IntN(4) == 0 {
			u.Files = append(u.Files, fmt.Sprintf("/srv/share/%s/%s-%d.%s", u.Dept, word, 2020+rng.IntN(7), ext))
		} else {
			u.Files = append(u.Files, fmt.Sprintf("%s/%s/%s.%s", home, subdirs[rng.IntN(len(subdirs))], word, ext))
		}
	}
	u.Dirs = []string{home, home + "/" + subdirs[rng.IntN(len(subdirs))], "/srv/share/" + u.Dept}
	if rng.IntN(2) == 0 {
		u.Dirs = append(u.Dirs, "/tmp")
	}
	if u.Ops {
		u.Dirs = append(u.Dirs, "/var/log/app", "/opt/"+slug(fake.HackerNoun()))
	}
	for i, nCmd := 0, 4+rng.IntN(6); i < nCmd; i++ {
		u.Commands = append(u.Commands, benignCommands[rng.IntN(len(benignCommands))])
	}
	if u.Ops {
		for i := 0; i < 3; i++ {
			u.Commands = append(u.Commands, opsCommands[rng.IntN(len(opsCommands))])
		}
	}
	return u
}

// fileWord is a lower-case word usable in a file name.
func fileWord(fake *gofakeit.Faker) string { return slug(fake.Noun()) }

// slug makes s a lower-case path element without spaces or punctuation.
func slug(s string) string {
	w := strings.ToLower(s)
	w = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r == ' ' {
			return '-'
		}
		return -1
	}, w)
	if w == "" {
		return "file"
	}
	return w
}

func randIP(pattern string, rng *rand.Rand) string {
	return fmt.Sprintf(pattern, rng.IntN(256), 1+rng.IntN(254))
}
