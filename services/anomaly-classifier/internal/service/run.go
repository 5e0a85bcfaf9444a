package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/kafkax"
)

// Options are what Consume needs (Run builds them from a Config).
type Options struct {
	Kafka kafkax.Config
	// Admin is the service's admin client (nil: Run opens one for its own lifetime).
	Admin             *kafkax.Admin
	Consumer          kafkax.ConsumerConfig // GroupID and Topics set
	Writer            kafkax.WriterConfig
	Topics            Topics
	Partitions        int
	ReplicationFactor int
	// Stage runs the LLM second opinions (nil: off); it belongs to the caller.
	Stage interface {
		Run(ctx context.Context) error
	}
	// DrainEvery is how often the idle drainer publishes LLM opinions (0: 1s).
	DrainEvery time.Duration
	// RulesDir is polled for changed rule files every RulesPoll (empty or 0: not watched).
	RulesDir  string
	RulesPoll time.Duration
	// Reload receives a value for every SIGHUP (may be nil).
	Reload <-chan os.Signal
}

// withAdmin returns o with an Admin, opening one when o has none; close releases it.
func withAdmin(o Options) (_ Options, close func(), _ error) {
	if o.Admin != nil {
		return o, func() {}, nil
	}
	a, err := kafkax.NewAdmin(o.Kafka)
	if err != nil {
		return o, nil, err
	}
	o.Admin = a
	return o, func() { _ = a.Close() }, nil
}

// EnsureTopics creates the input, verdicts, alerts and dead-letter topics.
func EnsureTopics(ctx context.Context, o Options) error {
	o, closeAdmin, err := withAdmin(o)
	if err != nil {
		return err
	}
	defer closeAdmin()
	names := append([]string{}, o.Consumer.Topics...)
	for _, t := range o.Consumer.Topics {
		names = append(names, kafkax.DLQTopic(t))
	}
	if o.Topics.VerdictsOn() {
		// <verdicts>.dlq takes a verdict larger than the verdicts topic accepts.
		names = append(names, o.Topics.Verdicts, kafkax.DLQTopic(o.Topics.Verdicts))
	}
	names = append(names, o.Topics.Alerts, kafkax.DLQTopic(o.Topics.Alerts))
	specs := make([]kafkax.TopicSpec, 0, len(names))
	for _, n := range names {
		specs = append(specs, kafkax.TopicSpec{Name: n, Partitions: o.Partitions, ReplicationFactor: o.ReplicationFactor})
	}
	if err := o.Admin.EnsureTopics(ctx, specs...); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

// Consume runs until ctx ends: the consumer with h, the LLM stage, the idle
// opinion drainer and the rule watcher, all owned by one errgroup. It returns
// nil after a clean stop (in-flight batch finished and committed).
//
// A handler never sees a batch again after its outputs failed to be written: the
// consumer then stops and Consume returns the error (the process exits). The dedup
// relies on it: an id it remembers belongs to an event whose outputs were written.
func Consume(ctx context.Context, o Options, h *Handler, km *kafkax.Metrics, log *zap.Logger) error {
	o, closeAdmin, err := withAdmin(o)
	if err != nil {
		return err
	}
	defer closeAdmin()
	if err := EnsureTopics(ctx, o); err != nil {
		return err
	}
	w, err := kafkax.NewWriter(o.Kafka, o.Writer, km)
	if err != nil {
		return fmt.Errorf("kafka writer: %w", err)
	}
	defer w.Close()
	c, err := kafkax.NewConsumer(o.Kafka, o.Consumer, w, log, km)
	if err != nil {
		return fmt.Errorf("kafka consumer: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	stop, cancel := context.WithCancel(gctx)
	defer cancel()
	g.Go(func() error {
		defer cancel() // the consumer stopped: stop the helpers too
		// Each batch is decoded on the fetching goroutine while the previous one is classified.
		if err := kafkax.RunPrepared(gctx, c, h.Decode, h.HandleDecoded); err != nil {
			return fmt.Errorf("consume %v: %w", o.Consumer.Topics, err)
		}
		return nil
	})
	if o.Stage != nil {
		g.Go(func() error { return o.Stage.Run(stop) })
		g.Go(func() error { return drainLoop(stop, h, w, o.DrainEvery, log) })
	}
	g.Go(func() error { return watchRules(stop, o.RulesDir, o.RulesPoll, o.Reload, h.Reload, log) })
	return g.Wait()
}

// drainLoop publishes opinions that arrive while the consumer is idle. A write
// failure is logged, not fatal: opinions are best effort on top of verdicts
// already published.
func drainLoop(ctx context.Context, h *Handler, w *kafkax.Writer, every time.Duration, log *zap.Logger) error {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		outs, err := h.DrainOpinions(ctx)
		if err != nil {
			return err
		}
		if len(outs) == 0 {
			continue
		}
		if err := w.Write(ctx, outs...); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("publish LLM opinions", zap.Int("messages", len(outs)), zap.Error(err))
		}
	}
}

// watchRules reloads the rules on SIGHUP and when a file of the rules directory
// is added, removed or changes (name, mtime or size). A bad file is logged and
// the old rules stay.
func watchRules(ctx context.Context, dir string, every time.Duration, hup <-chan os.Signal, reload func() error, log *zap.Logger) error {
	var tick <-chan time.Time
	var last string
	if dir != "" && every > 0 {
		last = dirStamp(dir)
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			log.Info("SIGHUP: reloading rules")
		case <-tick:
			st := dirStamp(dir)
			if st == last {
				continue
			}
			last = st
			log.Info("rules directory changed: reloading", zap.String("dir", dir))
		}
		if err := reload(); err != nil {
			log.Error("rules reload failed; keeping the previous rules", zap.Error(err))
		}
	}
}

// dirStamp summarises the names, sizes and mtimes of the files under dir.
func dirStamp(dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			fmt.Fprintf(&b, "%s\x00%d\x00%d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}
