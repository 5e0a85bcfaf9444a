package llmtest

import "strings"

// Judgement is the sensible fake model's opinion on one event.
type Judgement struct {
	Ref       string
	Anomalous bool
	Severity  string
	Score     float64
	Reason    string
}

// pattern families the sensible model knows, worst first. The text matched is
// the lower-cased raw line, action, target and template of the event.
var patterns = []struct {
	severity string
	score    float64
	reason   string
	needles  []string
}{
	{"critical", 0.95, "reverse shell, remote code execution or destruction", []string{
		"nc -e", "ncat -e", "/dev/tcp/", "bash -i", "sh -i", "socat exec", "mkfifo /tmp", "import socket",
		"| sh", "|sh", "| bash", "|bash", "rm -rf /", "rm -rf --no-preserve-root", "mkfs", "dd if=/dev/zero of=/dev/",
	}},
	{"high", 0.85, "access to credentials or keys, privilege escalation or covering tracks", []string{
		"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "id_rsa", "id_ed25519", "authorized_keys", ".bash_history",
		".aws/credentials", ".kube/config", "/.env", ".pgpass", "ssl/private", ".pem",
		"sudo su", "chmod 4755", "chmod u+s", "chmod +s", "chmod 777 /", "useradd", "usermod -ag", "visudo", "passwd root",
		"setenforce 0", "history -c", "histfile", "iptables -f", "auditctl -d", "shred ", "base64 -d",
	}},
	{"medium", 0.65, "probing or reconnaissance", []string{
		"invalid user", "/etc/passwd", "nmap ", "possible break-in",
	}},
}

// Judge is the sensible model, one line at a time like a real model asked about
// a batch: it flags reverse shells, download-and-run and destructive commands
// (critical), reading credentials or keys, privilege escalation and covering
// tracks (high), probing for accounts and reconnaissance (medium), and treats
// everything else — logins, one failed login, file and directory access,
// everyday commands (sudo systemctl, whoami, wget of a release) — as normal.
// It sees single lines, so patterns across lines (bursts, brute force, new far
// IPs, off-hours work) stay the statistics stage's job.
func Judge(text string) Judgement {
	t := strings.ToLower(text)
	for _, p := range patterns {
		for _, n := range p.needles {
			if strings.Contains(t, n) {
				return Judgement{Anomalous: true, Severity: p.severity, Score: p.score, Reason: p.reason + " (" + strings.TrimSpace(n) + ")"}
			}
		}
	}
	return Judgement{Anomalous: false, Severity: "info", Score: 0.1, Reason: "routine activity"}
}
