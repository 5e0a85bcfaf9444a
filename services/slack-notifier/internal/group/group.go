package group

import (
	"container/heap"
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// Validate names the first bad key (under "group", as the notifier reads it).
func (c Config) Validate() error {
	if len(c.By) == 0 {
		return errors.New("group.by (GROUP_BY): required")
	}
	for _, b := range c.By {
		switch b {
		case "fingerprint", "entity", "severity", "title":
		default:
			return fmt.Errorf("group.by (GROUP_BY): unknown label %q (fingerprint, entity, severity, title)", b)
		}
	}
	switch {
	case c.Wait < 0:
		return fmt.Errorf("group.wait (GROUP_WAIT): must be >= 0, got %s", c.Wait)
	case c.Interval < 0:
		return fmt.Errorf("group.interval (GROUP_INTERVAL): must be >= 0, got %s", c.Interval)
	case c.RepeatInterval <= 0:
		return fmt.Errorf("group.repeat_interval (GROUP_REPEAT_INTERVAL): must be > 0, got %s", c.RepeatInterval)
	case c.SeenIDs <= 0:
		return fmt.Errorf("group.seen_ids (GROUP_SEEN_IDS): must be > 0, got %d", c.SeenIDs)
	}
	return nil
}

// Batch is a notification plus the tokens of the alerts it covers for the first time.
// T is whatever the caller attached to each alert (its delivery receipt).
type Batch[T any] struct {
	notify.Notification
	Tokens []T
	// Severity is the highest severity among the alerts it covers for the first time.
	Severity logwardenpb.Severity
}

type grp[T any] struct {
	key      string
	latest   *logwardenpb.Alert
	count    int64
	first    time.Time
	last     time.Time
	pending  []T
	due      time.Time // zero: nothing to send
	lastSent time.Time
	seq      int
	sent     *list.Element // in Grouper.sent while nothing is pending, ordered by lastSent
	ref      string        // names the group's message (its buttons)
	sev      logwardenpb.Severity
}

// Grouper is not safe for concurrent use; one goroutine owns it. Groups with something
// to send sit in a heap by due time, the others in a list by last message: Next is
// O(1), Add and Due O(log groups) per group touched, however many groups are open.
type Grouper[T any] struct {
	// NewRef makes the ref of a new group's message (nil: 12 random bytes in hex).
	NewRef func() string

	cfg    Config
	groups map[string]*grp[T]
	due    dueHeap[T]
	sent   *list.List // of *grp[T] with nothing pending, oldest message first
	seen   map[string]*list.Element
	order  *list.List
}

// New returns an empty Grouper of alerts carrying tokens of type T.
func New[T any](cfg Config) *Grouper[T] {
	return &Grouper[T]{cfg: cfg, groups: map[string]*grp[T]{}, sent: list.New(), seen: map[string]*list.Element{}, order: list.New()}
}

// Key is the group key of a under the configured labels.
func (c Config) Key(a *logwardenpb.Alert) string {
	parts := make([]string, 0, len(c.By))
	for _, b := range c.By {
		var v string
		switch b {
		case "fingerprint":
			v = a.GetFingerprint()
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

// seenBefore reports whether the alert id was added before (and remembers it).
func (g *Grouper[T]) seenBefore(id string) bool {
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
func (g *Grouper[T]) Add(now time.Time, a *logwardenpb.Alert, tok T) bool {
	if g.seenBefore(a.GetId()) {
		return false
	}
	k := g.cfg.Key(a)
	gr := g.groups[k]
	if gr != nil && gr.due.IsZero() && now.Sub(gr.lastSent) >= g.cfg.RepeatInterval {
		g.forget(gr)
		gr = nil
	}
	if gr == nil {
		gr = &grp[T]{key: k, first: alertTime(a.GetFirstSeen().AsTime(), now), ref: g.newRef()}
		g.groups[k] = gr
	}
	gr.latest = a
	gr.sev = max(gr.sev, a.GetSeverity())
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
		if gr.sent != nil {
			g.sent.Remove(gr.sent)
			gr.sent = nil
		}
		heap.Push(&g.due, gr)
	}
	return true
}

// forget drops a group with nothing pending.
func (g *Grouper[T]) forget(gr *grp[T]) {
	if gr.sent != nil {
		g.sent.Remove(gr.sent)
		gr.sent = nil
	}
	delete(g.groups, gr.key)
}

func alertTime(t, now time.Time) time.Time {
	if t.Unix() <= 0 {
		return now
	}
	return t
}

// Next is the earliest time a group is due, and false when none is.
func (g *Grouper[T]) Next() (time.Time, bool) {
	if len(g.due) == 0 {
		return time.Time{}, false
	}
	return g.due[0].due, true
}

// Due takes the notifications due at now, oldest group first. Their groups count as
// sent at now; closed groups (quiet for repeat_interval) are forgotten.
func (g *Grouper[T]) Due(now time.Time) []Batch[T] {
	for e := g.sent.Front(); e != nil; e = g.sent.Front() {
		gr := e.Value.(*grp[T])
		if now.Sub(gr.lastSent) < g.cfg.RepeatInterval {
			break
		}
		g.forget(gr)
	}
	var out []Batch[T]
	for len(g.due) > 0 && !g.due[0].due.After(now) {
		gr := heap.Pop(&g.due).(*grp[T])
		out = append(out, Batch[T]{Notification: gr.notification(), Tokens: gr.pending, Severity: gr.sev})
		gr.pending = nil
		gr.sev = logwardenpb.Severity_SEVERITY_UNSPECIFIED
		gr.due = time.Time{}
		gr.lastSent = now
		gr.seq++
		gr.sent = g.sent.PushBack(gr)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].GroupKey < out[j].GroupKey
	})
	return out
}

func (gr *grp[T]) notification() notify.Notification {
	return notify.Notification{GroupKey: gr.key, Alert: gr.latest, Count: gr.count, New: len(gr.pending),
		FirstSeen: gr.first, LastSeen: gr.last, Seq: gr.seq, Ref: gr.ref}
}

func (g *Grouper[T]) newRef() string {
	if g.NewRef != nil {
		return g.NewRef()
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Current is the group's state as its message shows it, to re-render the message in
// place (Update set, New 0): false when no group has that key and message ref, e.g.
// it closed, or the ref names an earlier message of the key.
func (g *Grouper[T]) Current(key, ref string) (notify.Notification, bool) {
	gr := g.groups[key]
	if gr == nil || gr.ref != ref || gr.seq == 0 {
		return notify.Notification{}, false
	}
	n := gr.notification()
	n.New, n.Seq, n.Update = 0, gr.seq-1, true
	return n, true
}

// Open is the number of groups held.
func (g *Grouper[T]) Open() int { return len(g.groups) }

// dueHeap orders the groups with something to send by due time.
type dueHeap[T any] []*grp[T]

func (h dueHeap[T]) Len() int           { return len(h) }
func (h dueHeap[T]) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap[T]) Push(x any)        { *h = append(*h, x.(*grp[T])) }
func (h *dueHeap[T]) Pop() any {
	old := *h
	gr := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return gr
}
