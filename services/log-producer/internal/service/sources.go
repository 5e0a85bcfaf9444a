package service

import (
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/stdin"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// Known names the sources Options.Sources may list, in the order they are started.
func Known() []string { return []string{"generator", "file", "stdin", "http"} }

// build makes one source; the ingest API binds its listener here, so that a port in use
// or a missing token file shows at start.
func build(name string, o Options, log *zap.Logger, reg prometheus.Registerer) (source.Source, error) {
	switch name {
	case "generator":
		return gensource.New(o.Generator, o.Clock)
	case "file":
		fc := o.File
		fc.MaxLineBytes = o.MaxLineBytes
		return tail.New(fc, log.Named("file"))
	case "stdin":
		return stdin.New(o.Stdin, stdin.Config{MaxLineBytes: o.MaxLineBytes}), nil
	case "http":
		ic := o.Ingest
		ic.MaxLineBytes = o.MaxLineBytes
		return ingest.New(ic, log.Named("ingest"), ingest.NewMetrics(reg))
	}
	return nil, fmt.Errorf("sources (SOURCES): unknown source %q (known: %s)", name, strings.Join(Known(), ", "))
}

// sources builds the sources named in o.Sources, in the order of Known.
func (o Options) sources(log *zap.Logger, reg prometheus.Registerer) ([]source.Source, error) {
	want := map[string]bool{}
	for _, n := range o.Sources {
		if !slices.Contains(Known(), n) {
			return nil, fmt.Errorf("sources (SOURCES): unknown source %q (known: %s)", n, strings.Join(Known(), ", "))
		}
		want[n] = true
	}
	var out []source.Source
	for _, n := range Known() {
		if !want[n] {
			continue
		}
		s, err := build(n, o, log, reg)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sources (SOURCES): name at least one of %s", strings.Join(Known(), ", "))
	}
	return out, nil
}
