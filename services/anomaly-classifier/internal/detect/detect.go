package detect

import (
	"time"

	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// Event is what a detector sees of one log event.
type Event struct {
	Log      *logwardenpb.LogEvent
	Time     time.Time      // the event's time, clamped around received_at
	Template template.Match // the event's template (ID, text, first occurrence, count)
	Entity   string         // event.EntityKey: the user, else the host, else the source
	// Partition of logs.raw the event came from (-1 offline): state judged against
	// the passing of time (silence) uses the time of its own partition, which stops
	// when the partition moves to another replica.
	Partition int32
}

// NewEvent fills Entity from ev.
func NewEvent(ev *logwardenpb.LogEvent, t time.Time, m template.Match) Event {
	return Event{Log: ev, Time: t, Template: m, Entity: event.EntityKey(ev), Partition: -1}
}

// Level is the event's own level.
func (e *Event) Level() logwardenpb.LogLevel { return e.Log.GetLevel() }

// Detection is one finding and how to alert on it. Zero values mean: the alert
// is about the event's entity, the event is the evidence and opens the episode.
type Detection struct {
	Finding *logwardenpb.Finding
	// Entity is who the alert is about (default Event.Entity).
	Entity string
	// Key groups alerts: fingerprint detector/rule/Key (default Entity).
	Key string
	// Evidence shown with the alert (default the event).
	Evidence []*logwardenpb.LogEvent
	// Episode is the id of the event that opened the episode (default the event's).
	Episode string
	// First is when the episode began (default the event's time).
	First time.Time
	// Count is how many events the alert stands for (default 1).
	Count int64
	// Cooldown: another alert of the same fingerprint waits until its detections
	// paused this long (default the engine's 30 minutes).
	Cooldown time.Duration
	// Detached: the detection is about something other than this event (a
	// source gone silent, a template whose hour ended low). It may alert but is
	// not part of this event's verdict.
	Detached bool
	// Candidate: worth the LLM's second opinion although not anomalous alone
	// (a new kind of line, a command never seen).
	Candidate bool
}

// Detector is one detection stage. Detect appends its detections to out (the
// detections of the stages before it) and returns it. Not safe for concurrent use.
type Detector interface {
	Detect(ev *Event, out []Detection) []Detection
}

// Suspicious reports whether any detection in ds is alert-worthy (medium or higher).
func Suspicious(ds []Detection) bool {
	for _, d := range ds {
		if !d.Detached && d.Finding.GetSeverity() >= logwardenpb.Severity_SEVERITY_MEDIUM {
			return true
		}
	}
	return false
}
