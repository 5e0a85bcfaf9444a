package volume

import (
	"fmt"
	"strings"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// Snapshot writes the templates' hourly histories into fs.
func (d *TemplateRate) Snapshot(fs *logwardenpb.FleetState) {
	fs.RateHour = d.hour
	fs.RateTotal = &logwardenpb.TemplateRate{Count: d.total.Count, Hours: d.total.Hours, Mean: d.total.Mean,
		Seasonal: append([]float32(nil), d.total.Seasonal[:]...), Days: append([]byte(nil), d.total.Days[:]...)}
	d.series.All(func(id string, s *Series) bool {
		fs.Rates = append(fs.Rates, &logwardenpb.TemplateRate{Id: id, Count: s.Count, Hours: s.Hours, Mean: s.Mean,
			Seasonal: append([]float32(nil), s.Seasonal[:]...), Days: append([]byte(nil), s.Days[:]...), Fired: s.Fired,
			Template: s.Template, Entity: s.Entity})
		return true
	})
}

// Restore replaces the histories by those of fs.
func (d *TemplateRate) Restore(fs *logwardenpb.FleetState) error {
	series := detect.NewGen[string, *Series](d.cfg.MaxTemplates)
	for _, r := range fs.GetRates() {
		if len(r.GetSeasonal()) != 24 || len(r.GetDays()) != 24 {
			return fmt.Errorf("rate of template %s: %d seasonal values, %d days, want 24 each", r.GetId(), len(r.GetSeasonal()), len(r.GetDays()))
		}
		s := &Series{Count: r.GetCount(), Hours: r.GetHours(), Mean: r.GetMean(), Fired: r.GetFired(),
			Template: strings.Clone(r.GetTemplate()), Entity: strings.Clone(r.GetEntity())}
		copy(s.Seasonal[:], r.GetSeasonal())
		copy(s.Days[:], r.GetDays())
		series.Put(strings.Clone(r.GetId()), s)
	}
	// hours since the epoch of years 1..9999 (the range of event times)
	if h := fs.GetRateHour(); h < -17259888 || h > 70165104 {
		return fmt.Errorf("rate hour %d out of range", h)
	}
	d.series, d.hour = series, fs.GetRateHour()
	if t := fs.GetRateTotal(); t != nil && len(t.GetSeasonal()) == 24 && len(t.GetDays()) == 24 {
		d.total = Series{Count: t.GetCount(), Hours: t.GetHours(), Mean: t.GetMean()}
		copy(d.total.Seasonal[:], t.GetSeasonal())
		copy(d.total.Days[:], t.GetDays())
	}
	return nil
}

// Snapshot writes the hosts' error volumes into fs.
func (d *ErrorRate) Snapshot(fs *logwardenpb.FleetState) {
	d.hosts.All(func(h string, e *HostErrors) bool {
		fs.ErrorHosts = append(fs.ErrorHosts, &logwardenpb.HostErrors{Host: h, First: e.First, Bucket: e.Bucket, Count: e.Count, Usual: e.Usual, Fired: e.Fired})
		return true
	})
}

// Restore replaces the hosts' error volumes by those of fs.
func (d *ErrorRate) Restore(fs *logwardenpb.FleetState) error {
	hosts := detect.NewGen[string, *HostErrors](d.cfg.MaxHosts)
	for _, e := range fs.GetErrorHosts() {
		hosts.Put(strings.Clone(e.GetHost()), &HostErrors{First: e.GetFirst(), Bucket: e.GetBucket(), Count: e.GetCount(), Usual: e.GetUsual(), Fired: e.GetFired()})
	}
	d.hosts = hosts
	return nil
}

// MergeFleet adds another instance's hourly histories to this one's and returns the
// templates it did not know. For a template both know, the longer history (more
// hours observed, then the higher mean) is kept; the count of the current hour is the
// larger of both when both are in the same hour. The current hour is this instance's
// own (another's only when this one has none yet). The merge is commutative and
// idempotent (within volume.max_series). An invalid history is skipped (the last one
// is the error); an invalid hour skips the whole view.
func (d *TemplateRate) MergeFleet(fs *logwardenpb.FleetState) (added int, err error) {
	if h := fs.GetRateHour(); h < -17259888 || h > 70165104 {
		return 0, fmt.Errorf("rate hour %d out of range", h)
	}
	if d.hour == 0 {
		d.hour = fs.GetRateHour()
	}
	same := fs.GetRateHour() == d.hour
	for _, r := range fs.GetRates() {
		if len(r.GetSeasonal()) != 24 || len(r.GetDays()) != 24 {
			err = fmt.Errorf("rate of template %s: %d seasonal values, %d days, want 24 each", r.GetId(), len(r.GetSeasonal()), len(r.GetDays()))
			continue
		}
		s, ok := d.series.Peek(r.GetId())
		if !ok {
			added++
			s = &Series{Template: strings.Clone(r.GetTemplate()), Entity: strings.Clone(r.GetEntity())}
			d.series.Put(strings.Clone(r.GetId()), s)
		}
		mergeSeries(s, r, same)
	}
	if t := fs.GetRateTotal(); t != nil && len(t.GetSeasonal()) == 24 && len(t.GetDays()) == 24 {
		mergeSeries(&d.total, t, same)
	}
	return added, err
}

// mergeSeries merges r into s (see MergeFleet); same: r's current hour is s's.
func mergeSeries(s *Series, r *logwardenpb.TemplateRate, same bool) {
	if r.GetHours() > s.Hours || (r.GetHours() == s.Hours && r.GetMean() > s.Mean) {
		s.Hours, s.Mean = r.GetHours(), r.GetMean()
		copy(s.Seasonal[:], r.GetSeasonal())
		copy(s.Days[:], r.GetDays())
	}
	if same {
		s.Count = max(s.Count, r.GetCount())
		s.Fired = s.Fired || r.GetFired()
	}
	if s.Template == "" {
		s.Template = strings.Clone(r.GetTemplate())
	}
	if s.Entity == "" {
		s.Entity = strings.Clone(r.GetEntity())
	}
}

// MergeFleet adds another instance's error volumes to this one's: for a host both
// know, the earlier first line and the later bucket's count (the larger count and
// usual volume when in the same bucket). The merge is commutative and idempotent
// (within volume.max_hosts).
func (d *ErrorRate) MergeFleet(fs *logwardenpb.FleetState) {
	for _, e := range fs.GetErrorHosts() {
		h, ok := d.hosts.Peek(e.GetHost())
		if !ok {
			d.hosts.Put(strings.Clone(e.GetHost()), &HostErrors{First: e.GetFirst(), Bucket: e.GetBucket(), Count: e.GetCount(), Usual: e.GetUsual(), Fired: e.GetFired()})
			continue
		}
		h.First = min(h.First, e.GetFirst())
		switch {
		case e.GetBucket() > h.Bucket:
			h.Bucket, h.Count, h.Usual, h.Fired = e.GetBucket(), e.GetCount(), e.GetUsual(), e.GetFired()
		case e.GetBucket() == h.Bucket:
			h.Count, h.Usual, h.Fired = max(h.Count, e.GetCount()), max(h.Usual, e.GetUsual()), h.Fired || e.GetFired()
		}
	}
}
