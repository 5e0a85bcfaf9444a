package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// maxReasonValues bounds the distinct values a threshold reason lists.
const maxReasonValues = 4

// Detector runs a rule file as one detection stage: every matching rule adds a
// finding; threshold rules add theirs once their window reaches the threshold.
// Not safe for concurrent use.
type Detector struct {
	file    string
	set     *Set
	windows *Windows
}

// NewDetector loads file (empty: the shipped rules); windows keep at most
// maxKeys keys per rule.
func NewDetector(file string, maxKeys int) (*Detector, error) {
	set, err := Load(file)
	if err != nil {
		return nil, err
	}
	return &Detector{file: file, set: set, windows: NewWindows(maxKeys)}, nil
}

// Rules is the number of rules loaded.
func (d *Detector) Rules() int { return len(d.set.Rules) }

// Reload re-reads the rule file; on error the old rules stay. Windows of rules
// whose id is unchanged are kept.
func (d *Detector) Reload() (int, error) {
	set, err := Load(d.file)
	if err != nil {
		return 0, err
	}
	d.set = set
	d.windows.Keep(set)
	return len(set.Rules), nil
}

// Detect implements detect.Detector.
func (d *Detector) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	ev, t := e.Log, e.Time
	for _, r := range d.set.Rules {
		if !r.Match(ev, e.Template.Template) {
			continue
		}
		f := &logwardenpb.Finding{Detector: "rules", RuleId: r.ID, Severity: r.Severity, Score: r.Score, Title: r.Title, RunbookUrl: r.RunbookURL}
		if r.Threshold == nil {
			f.Reason = fmt.Sprintf("%s: %s: %s", detect.Sanitize(e.Entity), r.Title, detect.Sanitize(detect.Clip(subject(ev), 160)))
			out = append(out, detect.Detection{Finding: f})
			continue
		}
		th := r.Threshold
		k := Key(ev, th.Per)
		if k == "" {
			continue
		}
		val := ""
		if th.Distinct != "" {
			val = Field(ev, e.Template.Template, th.Distinct)
		}
		h := d.windows.Observe(r, k, t, val, ev)
		if !h.Fired {
			continue
		}
		dd := detect.Detection{Finding: f, Entity: k, First: h.First, Count: int64(h.Total), Evidence: h.Evidence, Episode: h.Episode}
		if len(dd.Evidence) == 0 { // the window restarted around a late event
			dd.Evidence = []*logwardenpb.LogEvent{ev}
		}
		span := h.Last.Sub(h.First).Round(time.Second)
		if th.Distinct != "" {
			list := make([]string, 0, maxReasonValues+1)
			for i, x := range h.Values {
				if i == maxReasonValues {
					list = append(list, "…")
					break
				}
				list = append(list, detect.Sanitize(detect.Clip(x, 80)))
			}
			f.Reason = fmt.Sprintf("%s: %s: %d distinct %s in %s: %s", detect.Sanitize(k), r.Title, h.Count, th.Distinct, span, strings.Join(list, ", "))
		} else {
			f.Reason = fmt.Sprintf("%s: %s: %d matching events in %s", detect.Sanitize(k), r.Title, h.Count, span)
		}
		out = append(out, dd)
	}
	return out
}

// Key is the window key of a threshold's per: the user, ip or host, or for
// "entity" the event's entity (event.EntityKey).
func Key(ev *logwardenpb.LogEvent, per string) string {
	switch per {
	case "user":
		return ev.GetUser()
	case "ip":
		return ev.GetIp()
	case "host":
		return ev.GetHost()
	}
	return event.EntityKey(ev)
}

func subject(ev *logwardenpb.LogEvent) string {
	if t := ev.GetTarget(); t != "" {
		return t
	}
	if ip := ev.GetIp(); ip != "" {
		return ip
	}
	return ev.GetRaw()
}
