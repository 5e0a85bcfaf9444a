package stats

import (
	"container/list"
	"fmt"
	"math"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// Config bounds and tunes the baselines.
type Config struct {
	MaxEntities    int           `mapstructure:"max_entities" desc:"most users with a baseline (least recently seen evicted)"`
	WarmupEvents   int           `mapstructure:"warmup_events" desc:"events of a user before its baseline reports anything"`
	WarmupSpan     time.Duration `mapstructure:"warmup_span" desc:"time since a user was first seen before its baseline reports anything"`
	MaxValues      int           `mapstructure:"max_values" desc:"most distinct networks, commands or directories remembered per user"`
	UsualHourShare float64       `mapstructure:"usual_hour_share" desc:"share of a user's events an hour (with its neighbours) needs to be usual"`
	SpikeFactor    float64       `mapstructure:"spike_factor" desc:"a 10-minute count above factor × the user's EWMA (and ≥ spike_min) is a spike"`
	SpikeMin       int           `mapstructure:"spike_min" desc:"smallest 10-minute count that can be a spike"`
	EarlyEvents    int           `mapstructure:"early_events" desc:"events of a user before the robust early checks run (hour ≥ 4 h from any seen hour)"`
	GlobalWarmup   int           `mapstructure:"global_warmup" desc:"events this instance has seen before a network never seen by anyone is reported (with N replicas each sees about 1/N of the stream)"`
}

// DefaultConfig returns the shipped tuning.
func DefaultConfig() Config {
	return Config{MaxEntities: 100000, WarmupEvents: 150, WarmupSpan: 20 * time.Hour, MaxValues: 64,
		UsualHourShare: 0.01, SpikeFactor: 8, SpikeMin: 20, EarlyEvents: 10, GlobalWarmup: 1000}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxEntities < 1:
		return fmt.Errorf("stats.max_entities: must be ≥ 1, got %d", c.MaxEntities)
	case c.WarmupEvents < 0:
		return fmt.Errorf("stats.warmup_events: must be ≥ 0, got %d", c.WarmupEvents)
	case c.WarmupSpan < 0:
		return fmt.Errorf("stats.warmup_span: must be ≥ 0, got %s", c.WarmupSpan)
	case c.MaxValues < 1:
		return fmt.Errorf("stats.max_values: must be ≥ 1, got %d", c.MaxValues)
	case c.UsualHourShare < 0 || c.UsualHourShare >= 1:
		return fmt.Errorf("stats.usual_hour_share: must be in [0,1), got %g", c.UsualHourShare)
	case c.SpikeFactor <= 1:
		return fmt.Errorf("stats.spike_factor: must be > 1, got %g", c.SpikeFactor)
	case c.EarlyEvents < 1 || c.GlobalWarmup < 0:
		return fmt.Errorf("stats.early_events must be ≥ 1 and stats.global_warmup ≥ 0")
	case c.SpikeMin < 1:
		return fmt.Errorf("stats.spike_min: must be ≥ 1, got %d", c.SpikeMin)
	}
	return nil
}

const bucket = 10 * time.Minute

type rate struct {
	bucket int64   // current bucket number
	count  int     // events in it
	ewma   float64 // mean events per active bucket
	fired  bool
}

type entity struct {
	key    string
	elem   *list.Element
	events int
	first  time.Time
	hours  [24]int32
	nets   map[string]struct{}
	held   map[string]int      // networks seen only on suspicious events: count
	seen   map[uint64]struct{} // hashes of "d"+directory
	rates  map[string]*rate
	// adopted: the user's history lies on another instance (its partition moved here
	// mid-stream), so its first hours here say nothing about its habits: only the warm
	// checks apply.
	adopted bool
	part    int32 // partition of the input topic its events came from (-1: unknown)
}

// Baselines holds the per-user state. Not safe for concurrent use.
type Baselines struct {
	cfg  Config
	ents map[string]*entity
	lru  *list.List
	hash *detect.Hasher
	nets map[string]string // network → first user seen with it in normal traffic, "" once a second user is (bounded)
	seen int
	net  []byte // the event's network (appendNetwork), reused: looking a []byte up allocates nothing
}

// New returns empty baselines; cfg must be valid; h keys the directory hashes (nil: a random key).
func New(cfg Config, h *detect.Hasher) *Baselines {
	if h == nil {
		h = detect.NewHasher()
	}
	return &Baselines{cfg: cfg, ents: map[string]*entity{}, lru: list.New(), hash: h, nets: map[string]string{}}
}

// Len is the number of users tracked.
func (b *Baselines) Len() int { return len(b.ents) }

// Detect implements detect.Detector: the user's baselines, told whether an earlier
// stage found the event alert-worthy (then it does not teach the baseline).
func (b *Baselines) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	var buf [4]*logwardenpb.Finding
	fs := b.observe(e.Log, e.Time, detect.Suspicious(out), buf[:0], e.Partition)
	for _, f := range fs {
		out = append(out, detect.Detection{Finding: f, Entity: e.Log.GetUser()})
	}
	return out
}

// heldLearn is how often a network or hour must be seen on suspicious events
// before it is learnt anyway (a real new home address stops alerting).
const heldLearn = 50

// Observe checks ev (at time t) against its user's baseline, then learns it.
// It appends findings to dst. Suspicious events (suspicious is true, or this
// call reports a medium or higher finding) do not teach the baseline their
// network or hour until seen heldLearn times, so an attacker's first events do
// not make the rest of the attack look usual.
func (b *Baselines) Observe(ev *logwardenpb.LogEvent, t time.Time, suspicious bool, dst []*logwardenpb.Finding) []*logwardenpb.Finding {
	return b.observe(ev, t, suspicious, dst, -1)
}

// observe is Observe of an event read from partition (-1: none).
func (b *Baselines) observe(ev *logwardenpb.LogEvent, t time.Time, suspicious bool, dst []*logwardenpb.Finding, partition int32) []*logwardenpb.Finding {
	n0 := len(dst)
	user := ev.GetUser()
	if user == "" {
		return dst
	}
	e := b.ents[user]
	if e == nil {
		e = b.add(user, t)
	} else {
		b.lru.MoveToFront(e.elem)
		if (e.events == 0 && e.first.IsZero()) || t.Before(e.first) {
			e.first = t // an earlier time than the first one (out of order, or the first was far ahead)
		}
	}
	e.part = partition
	warm := e.events >= b.cfg.WarmupEvents && t.Sub(e.first) >= b.cfg.WarmupSpan
	early := !e.adopted && e.events >= b.cfg.EarlyEvents
	b.seen++

	// first-seen address: the user's own addresses are remembered exactly; the
	// /16 network tells a new address in a known network from a foreign one
	newIP, global := "", false
	ip := ev.GetIp()
	if ip != "" {
		b.net = appendNetwork(b.net[:0], ip)
		first, ok := b.nets[string(b.net)]
		global = ok && first == ""
		if _, ok := e.nets[ip]; !ok {
			if warm || (early && !global && b.seen > b.cfg.GlobalWarmup) {
				where := "a network (" + detect.Sanitize(string(b.net)) + ") no other user works from"
				if global {
					where = "an address never seen for this user"
				}
				dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.new-network", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
					Title:  "Login source never seen for this user",
					Reason: fmt.Sprintf("%s is active from %s, %s", detect.Sanitize(user), detect.Sanitize(ip), where)})
			}
			newIP = ip
		}
	}
	// hour of day
	h := t.UTC().Hour()
	heldHour := false
	if (warm && b.cfg.UsualHourShare > 0) || early {
		near := e.hours[h] + e.hours[(h+1)%24] + e.hours[(h+23)%24]
		usual := !warm || float64(near) >= b.cfg.UsualHourShare*float64(e.events)
		if !usual || (early && hourDistance(&e.hours, h) >= 4) {
			heldHour = !usual
			dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.off-hours", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
				Title:  "Activity outside the user's usual hours",
				Reason: fmt.Sprintf("%s is active at %02d:%02d UTC, outside their usual hours", detect.Sanitize(user), h, t.UTC().Minute())})
		}
	}
	// first-seen directory (commands: novelty.Commands, by command shape)
	if ev.GetAction() == "dir_access" && ev.GetTarget() != "" {
		mh := b.hash.Start()
		mh.Byte('d')
		mh.String(ev.GetTarget())
		k := mh.Sum()
		if _, ok := e.seen[k]; !ok {
			if warm {
				dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.first-seen-directory",
					Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.3, Title: "First use by this user",
					Reason: fmt.Sprintf("%s opens a directory never seen for this user: %s", detect.Sanitize(user), detect.Sanitize(detect.Clip(ev.GetTarget(), 120)))})
			}
			if len(e.seen) < 4*b.cfg.MaxValues {
				e.seen[k] = struct{}{}
			}
		}
	}
	// per-action rate spike
	if a := ev.GetAction(); a != "" {
		r := e.rates[a]
		if r == nil && len(e.rates) < 16 {
			r = &rate{bucket: t.UnixNano() / int64(bucket)}
			e.rates[a] = r
		}
		if r != nil {
			bn := t.UnixNano() / int64(bucket)
			if bn != r.bucket {
				if r.count > 0 {
					r.ewma = 0.9*r.ewma + 0.1*float64(r.count)
					if r.ewma == 0 {
						r.ewma = float64(r.count)
					}
				}
				r.bucket, r.count, r.fired = bn, 0, false
			}
			r.count++
			if warm && !r.fired && r.count >= b.cfg.SpikeMin && float64(r.count) > b.cfg.SpikeFactor*math.Max(r.ewma, 1) {
				r.fired = true
				dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.rate-spike", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
					Title:  "Activity spike",
					Reason: fmt.Sprintf("%s: %d %s events in 10m, usual %.1f", detect.Sanitize(user), r.count, detect.Sanitize(a), r.ewma)})
			}
		}
	}
	flagged := suspicious // anything alert-worthy, this call's findings included
	for _, f := range dst[n0:] {
		if f.Severity >= logwardenpb.Severity_SEVERITY_MEDIUM {
			flagged = true
			if f.RuleId != "stats.new-network" { // novelty alone does not hold a network back
				suspicious = true
			}
		}
	}
	// a network used by others in normal traffic is learnt at once; a network
	// nobody uses waits until it has been seen on heldLearn suspicious events
	if newIP != "" && b.hold(e, newIP, suspicious) && len(e.nets) < b.cfg.MaxValues {
		e.nets[newIP] = struct{}{}
	}
	// a network is common once two users used it in traffic that looked normal
	if !flagged && ip != "" {
		if first, ok := b.nets[string(b.net)]; !ok {
			if len(b.nets) < 16*b.cfg.MaxEntities {
				b.nets[string(b.net)] = user
			}
		} else if first != "" && first != user {
			b.nets[string(b.net)] = ""
		}
	}
	if !heldHour || b.hold(e, fmt.Sprintf("hour:%d", h), suspicious) {
		e.hours[h]++
	}
	e.events++
	return dst
}

func (b *Baselines) add(user string, t time.Time) *entity {
	e := &entity{key: user, first: t, nets: map[string]struct{}{}, held: map[string]int{}, seen: map[uint64]struct{}{}, rates: map[string]*rate{}, part: -1}
	e.elem = b.lru.PushFront(e)
	b.ents[user] = e
	if len(b.ents) > b.cfg.MaxEntities {
		old := b.lru.Back().Value.(*entity)
		b.lru.Remove(old.elem)
		delete(b.ents, old.key)
	}
	return e
}

// Adopt tells the baselines that user's history lies elsewhere: its partition was
// assigned to this instance mid-stream (a rebalance). A user this instance does not know
// yet starts adopted: the early checks, which assume the stream began with the user,
// stay off until it is warm. A known user is unchanged.
func (b *Baselines) Adopt(user string) {
	if user == "" || b.ents[user] != nil {
		return
	}
	b.add(user, time.Time{}).adopted = true
}

// hold reports whether a new value may be learnt now.
func (b *Baselines) hold(e *entity, k string, suspicious bool) bool {
	if !suspicious {
		delete(e.held, k)
		return true
	}
	if len(e.held) >= b.cfg.MaxValues {
		return true
	}
	e.held[k]++
	if e.held[k] >= heldLearn {
		delete(e.held, k)
		return true
	}
	return false
}

// appendNetwork appends the /16 network of an IPv4 address ("10.1.0.0/16"), the
// address itself for anything else.
func appendNetwork(dst []byte, ip string) []byte {
	dots := 0
	for i := 0; i < len(ip); i++ {
		if ip[i] == '.' {
			dots++
			if dots == 2 {
				return append(append(dst, ip[:i]...), ".0.0/16"...)
			}
		}
	}
	return append(dst, ip...)
}

// hourDistance is the circular distance in hours from h to the nearest hour
// with activity (24 when there is none).
func hourDistance(hours *[24]int32, h int) int {
	for d := 0; d <= 12; d++ {
		if hours[(h+d)%24] > 0 || hours[(h+24-d)%24] > 0 {
			return d
		}
	}
	return 24
}
