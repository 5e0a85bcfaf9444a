package service

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/stdin"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// Every source plugs into the one port.
var (
	_ source.Source = (*gensource.Generator)(nil)
	_ source.Source = (*tail.Tailer)(nil)
	_ source.Source = (*stdin.Stdin)(nil)
	_ source.Source = (*ingest.Server)(nil)
)

func TestSourcesAreBuiltInOrderAndNamed(t *testing.T) {
	o := Options{
		Sources:      []string{"http", "stdin", "generator", "file"},
		Generator:    gensource.DefaultConfig(),
		File:         tail.Config{Paths: []string{t.TempDir() + "/*.log"}},
		Ingest:       ingest.DefaultConfig(),
		Stdin:        strings.NewReader(""),
		MaxLineBytes: 1024,
	}
	o.Ingest.Addr = "127.0.0.1:0"
	srcs, err := o.sources(zap.NewNop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(srcs)
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name())
	}
	if got := strings.Join(names, ","); got != "generator,file,stdin,http" {
		t.Fatalf("sources %s", got)
	}
	for _, bad := range [][]string{{"kafka"}, nil} {
		if _, err := (Options{Sources: bad}).sources(zap.NewNop(), nil); err == nil || !strings.Contains(err.Error(), "sources (SOURCES)") {
			t.Errorf("sources %v: err %v", bad, err)
		}
	}
}
