package sigmarules

import (
	"strings"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

// Runbooks lists the runbook families (docs/runbooks/<family>.md).
var Runbooks = []string{"brute-force", "command-and-control", "covering-tracks", "credential-access", "defense-impairment",
	"discovery", "execution", "exfiltration", "general", "impact", "lateral-movement", "persistence", "privilege-escalation"}

// tacticRunbook maps ATT&CK tactic tags to runbook families, most specific first.
var tacticRunbook = []struct{ tag, runbook string }{
	{"attack.t1070", "covering-tracks"},
	{"attack.t1110", "brute-force"},
	{"attack.persistence", "persistence"},
	{"attack.privilege-escalation", "privilege-escalation"},
	{"attack.credential-access", "credential-access"},
	{"attack.exfiltration", "exfiltration"},
	{"attack.collection", "exfiltration"},
	{"attack.impact", "impact"},
	{"attack.command-and-control", "command-and-control"},
	{"attack.defense-impairment", "defense-impairment"},
	{"attack.defense-evasion", "defense-impairment"},
	{"attack.stealth", "defense-impairment"},
	{"attack.lateral-movement", "lateral-movement"},
	{"attack.execution", "execution"},
	{"attack.initial-access", "execution"},
	{"attack.discovery", "discovery"},
	{"attack.reconnaissance", "discovery"},
	{"attack.resource-development", "general"},
}

// Runbook returns the runbook family of a rule: its logwarden.runbook, else the first
// family its ATT&CK tags map to, else "general".
func Runbook(r *sigma.Rule) string {
	if r.Extra.Runbook != "" {
		return r.Extra.Runbook
	}
	for _, tr := range tacticRunbook {
		for _, t := range r.Tags {
			if t = strings.ToLower(t); t == tr.tag || strings.HasPrefix(t, tr.tag+".") {
				return tr.runbook
			}
		}
	}
	if r.Correlation != nil {
		for _, b := range r.Correlation.Rules {
			if rb := Runbook(b); rb != "general" {
				return rb
			}
		}
	}
	return "general"
}
