package deliver

import (
	"container/heap"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/slack-notifier/internal/notify"
)

// entry is one queued notification and the receipts of the alerts it covers.
type entry struct {
	n        notify.Notification
	receipts []Receipt
	ready    time.Time // when it became due
	seq      uint64    // arrival order, the last tie-break
	at       int       // index in the heap
}

func (e *entry) severity() logwardenpb.Severity { return e.n.Alert.GetSeverity() }

// before is the queue order: more severe first, then the one due first.
func (e *entry) before(o *entry) bool {
	if s, t := e.severity(), o.severity(); s != t {
		return s > t
	}
	if !e.ready.Equal(o.ready) {
		return e.ready.Before(o.ready)
	}
	return e.seq < o.seq
}

// queue is a destination's backlog: a heap in send order, holding at most limit
// entries (0: unbounded); beyond that the least urgent are folded into one overflow
// entry, whose receipts are all the folded ones.
type queue struct {
	h        entries
	limit    int
	dest     string
	seq      uint64
	overflow *entry // the queued "N more alerts" entry, if any
}

func (q *queue) Len() int { return len(q.h) }

// push queues e and folds what exceeds the limit; it returns how many notifications
// were folded.
func (q *queue) push(e *entry) int {
	if e.n.Overflow != nil && q.overflow != nil {
		// A requeued overflow entry meets a newer one: one message per destination.
		q.merge(e)
		return 0
	}
	if e.seq == 0 { // a requeued entry keeps its place among equals
		q.seq++
		e.seq = q.seq
	}
	heap.Push(&q.h, e)
	if e.n.Overflow != nil {
		q.overflow = e
	}
	folded := 0
	for q.limit > 0 && len(q.h) > q.limit {
		v := q.leastUrgent()
		if v == nil { // only in-place updates and the overflow entry: nothing to fold
			break
		}
		heap.Remove(&q.h, v.at)
		folded++
		if q.overflow == nil {
			o := &entry{n: notify.Notification{GroupKey: "overflow/" + q.dest, Alert: v.n.Alert, Overflow: &notify.Overflow{},
				FirstSeen: v.n.FirstSeen, LastSeen: v.n.LastSeen}, ready: v.ready}
			q.seq++
			o.seq = q.seq
			heap.Push(&q.h, o)
			q.overflow = o
		}
		q.merge(v)
	}
	return folded
}

// merge folds v into the overflow entry.
func (q *queue) merge(v *entry) {
	o := q.overflow
	o.n.Overflow.Add(v.n)
	o.n.Count += v.n.Count
	o.n.New += v.n.New
	o.receipts = append(o.receipts, v.receipts...)
	if v.severity() > o.severity() {
		o.n.Alert = v.n.Alert
	}
	if o.n.FirstSeen.IsZero() || v.n.FirstSeen.Before(o.n.FirstSeen) {
		o.n.FirstSeen = v.n.FirstSeen
	}
	if v.n.LastSeen.After(o.n.LastSeen) {
		o.n.LastSeen = v.n.LastSeen
	}
	if v.ready.Before(o.ready) {
		o.ready = v.ready
	}
	heap.Fix(&q.h, o.at)
}

// leastUrgent is the last entry in send order other than the overflow entry and
// in-place updates (which announce nothing), or nil.
func (q *queue) leastUrgent() *entry {
	var v *entry
	for _, e := range q.h {
		if e != q.overflow && !e.n.Update && (v == nil || v.before(e)) {
			v = e
		}
	}
	return v
}

// pop takes the most urgent entry.
func (q *queue) pop() *entry {
	e := heap.Pop(&q.h).(*entry)
	if e == q.overflow {
		q.overflow = nil
	}
	return e
}

type entries []*entry

func (h entries) Len() int           { return len(h) }
func (h entries) Less(i, j int) bool { return h[i].before(h[j]) }
func (h entries) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *entries) Push(x any) {
	e := x.(*entry)
	e.at = len(*h)
	*h = append(*h, e)
}
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
