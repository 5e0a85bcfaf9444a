package volume

import (
	"fmt"
	"math"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/detect"
)

// ErrorsConfig tunes the error-volume detector (keys under volume.*).
type ErrorsConfig struct {
	ErrorFactor float64       `mapstructure:"error_factor" desc:"error-level lines of a host in a bucket above factor × its usual count (and ≥ error_min) are a spike"`
	ErrorMin    int           `mapstructure:"error_min" desc:"smallest count of error-level lines in a bucket that can be a spike"`
	ErrorBucket time.Duration `mapstructure:"error_bucket" desc:"bucket of the error-level line counts"`
	ErrorWarmup time.Duration `mapstructure:"error_warmup" desc:"time a host must have been logging before its error volume is judged"`
	MaxHosts    int           `mapstructure:"max_hosts" desc:"most hosts (or sources) whose volumes are kept (least recently seen forgotten)"`
}

// DefaultErrorsConfig: 20 error lines in 10 minutes and 5× the host's usual: a
// host that always logs a few errors stays quiet, one that starts failing is seen
// within minutes; judged after an hour of the host's logs.
func DefaultErrorsConfig() ErrorsConfig {
	return ErrorsConfig{ErrorFactor: 5, ErrorMin: 20, ErrorBucket: 10 * time.Minute, ErrorWarmup: time.Hour, MaxHosts: 20000}
}

// Validate names the key of the first invalid setting.
func (c ErrorsConfig) Validate() error {
	switch {
	case c.ErrorFactor <= 1:
		return fmt.Errorf("volume.error_factor: must be > 1, got %g", c.ErrorFactor)
	case c.ErrorMin < 1:
		return fmt.Errorf("volume.error_min: must be ≥ 1, got %d", c.ErrorMin)
	case c.ErrorBucket < time.Second:
		return fmt.Errorf("volume.error_bucket: must be ≥ 1s, got %s", c.ErrorBucket)
	case c.ErrorWarmup < 0:
		return fmt.Errorf("volume.error_warmup: must be ≥ 0, got %s", c.ErrorWarmup)
	case c.MaxHosts < 2:
		return fmt.Errorf("volume.max_hosts: must be ≥ 2, got %d", c.MaxHosts)
	}
	return nil
}

// HostErrors is the error volume of one host.
type HostErrors struct {
	First  int64   // Unix seconds of the host's first line
	Bucket int64   // current bucket number
	Count  int32   // error-level lines in it
	Usual  float32 // EWMA of the error count of buckets that had errors
	Fired  bool
}

// ErrorRate detects bursts of error-level lines per host (else source).
type ErrorRate struct {
	cfg   ErrorsConfig
	hosts *detect.Gen[string, *HostErrors]
}

// NewErrorRate returns an empty detector; cfg must be valid.
func NewErrorRate(cfg ErrorsConfig) *ErrorRate {
	return &ErrorRate{cfg: cfg, hosts: detect.NewGen[string, *HostErrors](cfg.MaxHosts)}
}

// Detect implements detect.Detector.
func (d *ErrorRate) Detect(e *detect.Event, out []detect.Detection) []detect.Detection {
	host := origin(e)
	if host == "" {
		return out
	}
	sec := e.Time.Unix()
	h, ok := d.hosts.Get(host)
	if !ok {
		h = &HostErrors{First: sec, Bucket: floorDiv(sec, int64(d.cfg.ErrorBucket/time.Second))}
		d.hosts.Put(clone(host), h)
	}
	if sec < h.First {
		h.First = sec
	}
	if e.Level() < logwardenpb.LogLevel_LOG_LEVEL_ERROR {
		return out
	}
	b := floorDiv(sec, int64(d.cfg.ErrorBucket/time.Second))
	if b > h.Bucket {
		if h.Count > 0 {
			if h.Usual == 0 {
				h.Usual = float32(h.Count)
			} else {
				h.Usual += alpha * (float32(h.Count) - h.Usual)
			}
		}
		h.Bucket, h.Count, h.Fired = b, 0, false
	}
	if b < h.Bucket {
		return out // a late line: its bucket is closed
	}
	h.Count++
	warm := sec-h.First >= int64(d.cfg.ErrorWarmup/time.Second)
	if !warm || h.Fired || int(h.Count) < d.cfg.ErrorMin || float64(h.Count) <= d.cfg.ErrorFactor*math.Max(float64(h.Usual), 1) {
		return out
	}
	h.Fired = true
	f := &logwardenpb.Finding{Detector: "volume", RuleId: "volume.error-spike", Severity: logwardenpb.Severity_SEVERITY_MEDIUM, Score: 0.5,
		Title:  "Burst of errors",
		Reason: fmt.Sprintf("%s: %d error-level lines in %s, usually %.1f", detect.Sanitize(host), h.Count, d.cfg.ErrorBucket, h.Usual)}
	return append(out, detect.Detection{Finding: f, Entity: host, Count: int64(h.Count)})
}
