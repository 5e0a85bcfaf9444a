package stats

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
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
}

// DefaultConfig returns the shipped tuning.
func DefaultConfig() Config {
	return Config{MaxEntities: 100000, WarmupEvents: 150, WarmupSpan: 20 * time.Hour, MaxValues: 64,
		UsualHourShare: 0.01, SpikeFactor: 8, SpikeMin: 20}
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
	seen   map[uint64]struct{} // hashes of "c:"+command, "d:"+dir
	rates  map[string]*rate
}

// Baselines holds the per-user state. Not safe for concurrent use.
type Baselines struct {
	cfg  Config
	ents map[string]*entity
	lru  *list.List
	seed maphash.Seed
}

// New returns empty baselines; cfg must be valid.
func New(cfg Config) *Baselines {
	return &Baselines{cfg: cfg, ents: map[string]*entity{}, lru: list.New(), seed: maphash.MakeSeed()}
}

// Len is the number of users tracked.
func (b *Baselines) Len() int { return len(b.ents) }

// Observe checks ev (at time t) against its user's baseline, then learns it.
// It appends findings to dst.
func (b *Baselines) Observe(ev *logwardenpb.LogEvent, t time.Time, dst []*logwardenpb.Finding) []*logwardenpb.Finding {
	user := ev.GetUser()
	if user == "" {
		return dst
	}
	e := b.ents[user]
	if e == nil {
		e = &entity{key: user, first: t, nets: map[string]struct{}{}, seen: map[uint64]struct{}{}, rates: map[string]*rate{}}
		e.elem = b.lru.PushFront(e)
		b.ents[user] = e
		if len(b.ents) > b.cfg.MaxEntities {
			old := b.lru.Back().Value.(*entity)
			b.lru.Remove(old.elem)
			delete(b.ents, old.key)
		}
	} else {
		b.lru.MoveToFront(e.elem)
	}
	warm := e.events >= b.cfg.WarmupEvents && t.Sub(e.first) >= b.cfg.WarmupSpan
	name := Sanitize(user)

	// first-seen network
	if ip := ev.GetIp(); ip != "" {
		n := network(ip)
		if _, ok := e.nets[n]; !ok {
			if warm {
				dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.new-network", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
					Title:  "Login source never seen for this user",
					Reason: fmt.Sprintf("%s is active from %s, a network (%s) never seen for this user", name, Sanitize(ip), Sanitize(n))})
			}
			if len(e.nets) < b.cfg.MaxValues {
				e.nets[n] = struct{}{}
			}
		}
	}
	// hour of day
	h := t.UTC().Hour()
	if warm && b.cfg.UsualHourShare > 0 {
		near := e.hours[h] + e.hours[(h+1)%24] + e.hours[(h+23)%24]
		if float64(near) < b.cfg.UsualHourShare*float64(e.events) {
			dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.off-hours", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.6,
				Title:  "Activity outside the user's usual hours",
				Reason: fmt.Sprintf("%s is active at %02d:%02d UTC, outside their usual hours", name, h, t.UTC().Minute())})
		}
	}
	e.hours[h]++
	// first-seen command or directory
	var kind byte
	switch ev.GetAction() {
	case "command", "sudo":
		kind = 'c'
	case "dir_access":
		kind = 'd'
	}
	if kind != 0 && ev.GetTarget() != "" {
		var mh maphash.Hash
		mh.SetSeed(b.seed)
		mh.WriteByte(kind)
		mh.WriteString(ev.GetTarget())
		k := mh.Sum64()
		if _, ok := e.seen[k]; !ok {
			if warm {
				what := "runs a command"
				if kind == 'd' {
					what = "opens a directory"
				}
				dst = append(dst, &logwardenpb.Finding{Detector: "stats", RuleId: "stats.first-seen-" + map[byte]string{'c': "command", 'd': "directory"}[kind],
					Severity: logwardenpb.Severity_SEVERITY_LOW, Score: 0.3, Title: "First use by this user",
					Reason: fmt.Sprintf("%s %s never seen for this user: %s", name, what, Sanitize(truncate(ev.GetTarget(), 120)))})
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
					Reason: fmt.Sprintf("%s: %d %s events in 10m, usual %.1f", name, r.count, Sanitize(a), r.ewma)})
			}
		}
	}
	e.events++
	return dst
}

func network(ip string) string {
	dots := 0
	for i := 0; i < len(ip); i++ {
		if ip[i] == '.' {
			dots++
			if dots == 2 {
				return ip[:i] + ".0.0/16"
			}
		}
	}
	return ip
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Sanitize replaces control characters so a reason is one printable line.
func Sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return '?'
		}
		return r
	}, s)
}
