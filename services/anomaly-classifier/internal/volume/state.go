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
