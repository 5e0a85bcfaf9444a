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
	{"critical", 0.95, "reverse shell or remote code execution", []string{
		"nc -e", "ncat -e", "nc.traditional -e", "/dev/tcp/", "bash -i", "sh -i", "socat exec", "mkfifo /tmp",
		"| sh", "|sh", "| bash", "|bash", "python -c 'import socket", "rm -rf /", "mkfs", "dd if=/dev/zero of=/dev/",
	}},
	{"high", 0.85, "access to credentials or privilege escalation", []string{
		"/etc/shadow", "id_rsa", "authorized_keys", "/etc/sudoers", ".aws/credentials", "credentials", ".pgpass", ".kube/config",
		"sudo su", "chmod 4755", "chmod u+s", "chmod +s", "chmod 777 /", "useradd", "usermod -ag", "visudo", "passwd root",
		"setenforce 0", "history -c", "iptables -f", "auditctl -d", "shred ", "unset histfile", "base64 -d",
	}},
	{"medium", 0.65, "suspicious authentication or reconnaissance", []string{
		"failed password", "authentication failure", "invalid user", "/etc/passwd", "nmap", "wget http", "curl http",
		"crontab -e", "whoami", "uname -a", "possible break-in",
	}},
}

// Judge is the sensible model: it flags reverse shells and code execution
// (critical), credential access and privilege escalation (high), failed
// authentication and reconnaissance (medium), and treats everything else —
// ordinary logins, file and directory access, everyday commands — as normal.
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
