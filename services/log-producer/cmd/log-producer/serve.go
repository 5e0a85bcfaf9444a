package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/obs"
	"github.com/logwarden/logwarden/services/log-producer/internal/ingest"
	"github.com/logwarden/logwarden/services/log-producer/internal/publish"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/gensource"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/stdin"
	"github.com/logwarden/logwarden/services/log-producer/internal/source/tail"
)

// serve runs the service: the configured sources publish to the topic until ctx ends, or
// until every source has finished when all of them are finite (stdin at EOF, a generator
// with a count or duration).
func serve(ctx context.Context, args []string, getenv func(string) string, stdinR io.Reader, stdout, stderr io.Writer) error {
	cfg := defaultConfig()
	rest, err := config.Load(&cfg, config.Options{Name: "log-producer", Args: args, Getenv: getenv, Usage: stderr})
	if errors.Is(err, config.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q (commands: run, generate)", rest[0])
	}
	log, err := obs.NewLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	srcs := cfg.sources()
	log.Info("starting log-producer", zap.String("topic", cfg.Topic), zap.Strings("brokers", cfg.Kafka.Brokers),
		zap.Any("sources", srcs), zap.String("http.addr", cfg.HTTP.Addr))

	reg := obs.NewRegistry()
	admin, err := kafkax.NewAdmin(cfg.Kafka)
	if err != nil {
		return err
	}
	defer admin.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = admin.EnsureTopics(tctx, kafkax.TopicSpec{Name: cfg.Topic, Partitions: cfg.TopicPartitions, ReplicationFactor: cfg.TopicReplication})
	cancel()
	if err != nil {
		return fmt.Errorf("topic %s on %v: %w", cfg.Topic, cfg.Kafka.Brokers, err)
	}
	w, err := kafkax.NewWriter(cfg.Kafka, cfg.Writer, kafkax.NewMetrics(reg))
	if err != nil {
		return err
	}
	defer func() {
		if err := w.Close(); err != nil {
			log.Warn("close writer", zap.Error(err))
		}
	}()
	pub := publish.New(w, publish.Options{
		Topic:   cfg.Topic,
		Parser:  logparse.New(logparse.Options{MaxLineBytes: cfg.MaxLineBytes}),
		Log:     log,
		Metrics: publish.NewMetrics(reg),
	})

	srv, err := obs.NewServer(cfg.HTTP.Addr, reg, admin.Ping, log)
	if err != nil {
		return fmt.Errorf("http.addr (HTTP_ADDR) %s: %w", cfg.HTTP.Addr, err)
	}
	if srcs["http"] {
		srv.Handle(ingest.Path, ingest.NewHandler(ingest.Config{MaxBodyBytes: cfg.HTTP.MaxBodyBytes, PublishTimeout: cfg.HTTP.PublishTimeout}, pub, log, reg))
	}

	// Sources run in one group; the server stops when ctx ends, or when the finite sources
	// are all done and no endless one runs.
	endless := srcs["http"] || srcs["file"] || (srcs["generator"] && cfg.Generator.Count == 0 && cfg.Generator.Duration == 0)
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	g, gctx := errgroup.WithContext(ctx)
	var sources errgroup.Group
	if srcs["generator"] {
		sources.Go(func() error { return gensource.Run(gctx, cfg.Generator, pub, gensource.RealClock{}) })
	}
	if srcs["stdin"] {
		sources.Go(func() error { return stdin.Run(gctx, stdinR, stdin.Config{MaxLineBytes: cfg.MaxLineBytes}, pub) })
	}
	if srcs["file"] {
		fc := cfg.File
		fc.MaxLineBytes = cfg.MaxLineBytes
		t, err := tail.New(fc, pub, log)
		if err != nil {
			return err
		}
		sources.Go(func() error { return t.Run(gctx) })
	}
	g.Go(func() error {
		err := sources.Wait()
		if err != nil || !endless {
			if err == nil {
				log.Info("every source finished")
			}
			stopServer()
		}
		return err
	})
	g.Go(func() error { return srv.Run(sctx) })
	err = g.Wait()
	log.Info("log-producer stopped", zap.Error(err))
	return err
}
