package service

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
	"github.com/logwarden/logwarden/services/log-producer/internal/source"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// Options are what Run needs, built by the command from its configuration.
type Options struct {
	Kafka  kafkax.Config
	Writer kafkax.WriterConfig
	// Topic is created when missing.
	Topic kafkax.TopicSpec
	// MaxLineBytes: longer lines are cut and marked parse.truncated.
	MaxLineBytes int
	// HTTP is the ops server: /healthz, /readyz, /metrics.
	HTTP obs.HTTPConfig
	// Sources to run, by name: generator, file, stdin, http.
	Sources   []string
	Generator gensource.Config
	File      tail.Config
	Ingest    ingest.Config
	Stdin     io.Reader
	// Clock drives the generator and the publisher (nil: the wall clock).
	Clock clock.Clock
}

// Run publishes from the sources until ctx ends, or until every source finished (stdin at
// EOF, a generator with a count or duration). It returns nil after a clean stop; the
// first failing source stops the others and its error is returned.
func Run(ctx context.Context, o Options, log *zap.Logger) error {
	reg := obs.NewRegistry()
	srcs, err := o.sources(log, reg)
	if err != nil {
		return err
	}
	admin, err := kafkax.NewAdmin(o.Kafka)
	if err != nil {
		closeAll(srcs)
		return err
	}
	defer admin.Close()
	srv, err := obs.NewServer(o.HTTP.Addr, reg, admin.Ping, log.Named("ops"))
	if err != nil {
		closeAll(srcs)
		return fmt.Errorf("http.addr (HTTP_ADDR): %w", err)
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = s.Name()
	}
	log.Info("starting log-producer", zap.String("topic", o.Topic.Name), zap.Strings("brokers", o.Kafka.Brokers),
		zap.Strings("sources", names), zap.String("ops", srv.Addr()))

	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	maxMsg, err := prepareTopic(tctx, admin, o.Topic)
	if err != nil {
		closeAll(srcs)
		_ = srv.Close()
		return err
	}
	w, err := kafkax.NewWriter(o.Kafka, o.Writer, kafkax.NewMetrics(reg))
	if err != nil {
		closeAll(srcs)
		_ = srv.Close()
		return err
	}
	defer func() {
		if err := w.Close(); err != nil {
			log.Warn("close writer", zap.Error(err))
		}
	}()
	pub := publish.New(w, publish.Options{
		Topic:  o.Topic.Name,
		Parser: logparse.New(logparse.Options{MaxLineBytes: o.MaxLineBytes}),
		Clock:  o.Clock,
		// An event never exceeds what the topic accepts: an over-long line is cut to fit.
		MaxMessageBytes: maxMsg,
		Log:             log,
		Metrics:         publish.NewMetrics(reg),
	})

	g, gctx := errgroup.WithContext(ctx)
	opsCtx, stopOps := context.WithCancel(gctx)
	defer stopOps()
	g.Go(func() error { return srv.Run(opsCtx) })
	g.Go(func() error {
		defer stopOps()
		sg, sctx := errgroup.WithContext(gctx)
		for _, s := range srcs {
			sg.Go(func() error {
				if err := s.Run(sctx, pub); err != nil {
					return fmt.Errorf("source %s: %w", s.Name(), err)
				}
				return nil
			})
		}
		if err := sg.Wait(); err != nil {
			return err
		}
		if ctx.Err() == nil {
			log.Info("every source finished")
		}
		return nil
	})
	err = g.Wait()
	log.Info("log-producer stopped", zap.Error(err))
	return err
}

// prepareTopic creates the topic when missing and reads the largest record it accepts.
func prepareTopic(ctx context.Context, admin *kafkax.Admin, spec kafkax.TopicSpec) (int, error) {
	if err := admin.EnsureTopics(ctx, spec); err != nil {
		return 0, fmt.Errorf("topic %s: %w", spec.Name, err)
	}
	n, err := admin.MaxMessageBytes(ctx, spec.Name)
	if err != nil {
		return 0, fmt.Errorf("topic %s: max.message.bytes: %w", spec.Name, err)
	}
	return n, nil
}

// closer is a source holding a resource before it runs (the ingest listener).
type closer interface{ Close() error }

func closeAll(srcs []source.Source) {
	for _, s := range srcs {
		if c, ok := s.(closer); ok {
			_ = c.Close()
		}
	}
}
