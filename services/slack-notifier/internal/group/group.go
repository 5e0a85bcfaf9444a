package group

import (
	"container/list"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// Config tunes the grouping.
type Config struct {
	By             []string      `mapstructure:"by" desc:"alert labels that form a group: fingerprint, entity, severity, title"`
	Wait           time.Duration `mapstructure:"wait" desc:"how long a new group gathers alerts before its first message"`
	Interval       time.Duration `mapstructure:"interval" desc:"minimum time between two messages of one group"`
	RepeatInterval time.Duration `mapstructure:"repeat_interval" desc:"a group quiet this long closes; its next alert opens a new message"`
	SeenIDs        int           `mapstructure:"seen_ids" desc:"alert ids remembered to drop redeliveries"`
}

// DefaultConfig is Alertmanager's defaults.
func DefaultConfig() Config {
	return Config{By: []string{"fingerprint"}, Wait: 10 * time.Second, Interval: time.Minute,
		RepeatInterval: 4 * time.Hour, SeenIDs: 100000}
}

// Validate names the first bad key.
func (c Config) Validate() error {
	if len(c.By) == 0 {
		return fmt.Errorf("group.by: empty")
	}
	for _, b := range c.By {
		switch b {
		case "fingerprint", "entity", "severity", "title":
		default:
			return fmt.Errorf("group.by: unknown label %q (fingerprint, entity, severity, title)", b)
		}
	}
	if c.Wait < 0 || c.Interval < 0 || c.RepeatInterval <= 0 {
		return fmt.Errorf("group.wait, group.interval: must be >= 0; group.repeat_interval > 0")
	}
	if c.SeenIDs <= 0 {
		return fmt.Errorf("group.seen_ids: must be > 0")
	}
	return nil
}

// Token is what the caller attached to an alert (typically its Kafka ack); it comes back
// in the Batch that covers the alert.
type Token any

// Batch is a notification plus the tokens of the alerts it covers for the first time.
type Batch struct {
	notify.Notification
	Tokens []Token
}

type grp struct {
	key       string
	latest    *logwardenpb.Alert
	count     int64
	first     time.Time
	last      time.Time
	pending   []Token
	due       time.Time // zero: nothing to send
	lastSent  time.Time
	seq       int
	sentCount int
}

// Grouper is not safe for concurrent use; one goroutine owns it.
type Grouper struct {
	cfg    Config
	groups map[string]*grp
	seen   map[string]*list.Element
	order  *list.List
}

// New returns an empty Grouper.
func New(cfg Config) *Grouper {
	return &Grouper{cfg: cfg, groups: map[string]*grp{}, seen: map[string]*list.Element{}, order: list.New()}
}

// Key is the group key of a under the configured labels.
func (g *Grouper) Key(a *logwardenpb.Alert) string {
	parts := make([]string, 0, len(g.cfg.By))
	for _, b := range g.cfg.By {
		var v string
		switch b {
		case "fingerprint":
			v = a.GetFingerprint()
			if v == "" {
				v = a.GetId()
			}
		case "entity":
			v = a.GetEntity()
		case "severity":
			v = a.GetSeverity().String()
		case "title":
			v = a.GetTitle()
		}
		parts = append(parts, b+"="+v)
	}
	return strings.Join(parts, ",")
}

// Seen reports whether the alert id was added before (and remembers it).
func (g *Grouper) seenBefore(id string) bool {
	if id == "" {
		return false
	}
	if e, ok := g.seen[id]; ok {
		g.order.MoveToFront(e)
		return true
	}
	g.seen[id] = g.order.PushFront(id)
	for g.order.Len() > g.cfg.SeenIDs {
		e := g.order.Back()
		g.order.Remove(e)
		delete(g.seen, e.Value.(string))
	}
	return false
}

// Add puts a into its group at time now. It returns false (and keeps nothing) when the
// alert id was seen before: the caller acknowledges such a duplicate at once.
func (g *Grouper) Add(now time.Time, a *logwardenpb.Alert, tok Token) bool {
	if g.seenBefore(a.GetId()) {
		return false
	}
	k := g.Key(a)
	gr := g.groups[k]
	if gr != nil && gr.due.IsZero() && !gr.lastSent.IsZero() && now.Sub(gr.lastSent) >= g.cfg.RepeatInterval {
		delete(g.groups, k)
		gr = nil
	}
	if gr == nil {
		gr = &grp{key: k, first: alertTime(a.GetFirstSeen().AsTime(), now)}
		g.groups[k] = gr
	}
	gr.latest = a
	c := a.GetCount()
	if c <= 0 {
		c = 1
	}
	gr.count += c
	if t := alertTime(a.GetLastSeen().AsTime(), now); t.After(gr.last) {
		gr.last = t
	}
	if t := alertTime(a.GetFirstSeen().AsTime(), now); t.Before(gr.first) {
		gr.first = t
	}
	gr.pending = append(gr.pending, tok)
	if gr.due.IsZero() {
		if gr.lastSent.IsZero() {
			gr.due = now.Add(g.cfg.Wait)
		} else {
			gr.due = gr.lastSent.Add(g.cfg.Interval)
			if gr.due.Before(now) {
				gr.due = now
			}
		}
	}
	return true
}

func alertTime(t, now time.Time) time.Time {
	if t.Unix() <= 0 {
		return now
	}
	return t
}

// Next is the earliest time a group is due, and false when none is.
func (g *Grouper) Next() (time.Time, bool) {
	var next time.Time
	for _, gr := range g.groups {
		if !gr.due.IsZero() && (next.IsZero() || gr.due.Before(next)) {
			next = gr.due
		}
	}
	return next, !next.IsZero()
}

// Due takes the notifications due at now, oldest group first. Their groups count as
// sent at now; closed groups (quiet for repeat_interval) are forgotten.
func (g *Grouper) Due(now time.Time) []Batch {
	var out []Batch
	for k, gr := range g.groups {
		if gr.due.IsZero() {
			if !gr.lastSent.IsZero() && now.Sub(gr.lastSent) >= g.cfg.RepeatInterval {
				delete(g.groups, k)
			}
			continue
		}
		if gr.due.After(now) {
			continue
		}
		out = append(out, Batch{Notification: notify.Notification{
			GroupKey: gr.key, Alert: gr.latest, Count: gr.count, New: len(gr.pending),
			FirstSeen: gr.first, LastSeen: gr.last, Seq: gr.seq,
		}, Tokens: gr.pending})
		gr.pending = nil
		gr.due = time.Time{}
		gr.lastSent = now
		gr.seq++
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].GroupKey < out[j].GroupKey
	})
	return out
}

// Open is the number of groups held.
func (g *Grouper) Open() int { return len(g.groups) }
