package sigmarules

import (
	"testing"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/taxonomy"
)

func TestZZDebug(t *testing.T) {
	d, err := NewDetector("", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rules %d", d.Rules())
	for _, s := range []sigma.Source{{Product: "linux"}, {Product: "linux", Services: "syslog"}, {Product: "linux", Services: "sshd,auth,syslog"}, {Product: "linux", Services: "sudo,auth,syslog"}, taxonomy.ProcessCreation, taxonomy.FileAccess, taxonomy.FileEvent, taxonomy.NetworkConnection, taxonomy.Auditd} {
		t.Log("all: " + d.matcher.DebugRouter(s))
		t.Log("stable: " + d.stable.DebugRouter(s))
		t.Log("varying: " + d.varying.DebugRouter(s))
	}
}
