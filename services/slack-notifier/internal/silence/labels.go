package silence

import (
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// The label names a matcher may use.
const (
	LabelRule     = "rule"
	LabelEntity   = "entity"
	LabelHost     = "host"
	LabelSeverity = "severity"
)

// labelNames in index preference order: the most selective first.
var labelNames = []string{LabelEntity, LabelRule, LabelHost, LabelSeverity}

// Labels are what matchers see of an alert.
type Labels struct {
	Rule     string // the rule id of its first finding
	Entity   string
	Host     string // the host of its most recent evidence event
	Severity string // critical, high, medium, low, info (unspecified: "")
}

// LabelsOf reads the labels of a.
func LabelsOf(a *logwardenpb.Alert) Labels {
	l := Labels{Entity: a.GetEntity(), Severity: SeverityName(a.GetSeverity())}
	if fs := a.GetFindings(); len(fs) > 0 {
		l.Rule = fs[0].GetRuleId()
	}
	if ev := a.GetEvidence(); len(ev) > 0 {
		l.Host = ev[len(ev)-1].GetHost()
	}
	return l
}

// Get is the value of the label name ("" for an unknown name).
func (l Labels) Get(name string) string {
	switch name {
	case LabelRule:
		return l.Rule
	case LabelEntity:
		return l.Entity
	case LabelHost:
		return l.Host
	case LabelSeverity:
		return l.Severity
	}
	return ""
}

// SeverityName is the label value of s: "high" for SEVERITY_HIGH, "" when unspecified.
func SeverityName(s logwardenpb.Severity) string {
	switch s {
	case logwardenpb.Severity_SEVERITY_UNSPECIFIED:
		return ""
	case logwardenpb.Severity_SEVERITY_INFO:
		return "info"
	case logwardenpb.Severity_SEVERITY_LOW:
		return "low"
	case logwardenpb.Severity_SEVERITY_MEDIUM:
		return "medium"
	case logwardenpb.Severity_SEVERITY_HIGH:
		return "high"
	case logwardenpb.Severity_SEVERITY_CRITICAL:
		return "critical"
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}
