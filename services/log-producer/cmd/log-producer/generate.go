package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/services/log-producer/internal/dataset"
	"github.com/logwarden/logwarden/services/log-producer/internal/generator"
)

// runGenerate is `log-producer generate --out DIR …`: a labelled dataset, no Kafka.
func runGenerate(ctx context.Context, args []string, _ func(string) string, _ io.Reader, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("log-producer generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write lines.log, labels.jsonl and meta.json to (required)")
	count := fs.Int("count", 100000, "number of lines")
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same files")
	rate := fs.Float64("anomaly-rate", 0.01, "share of anomalous lines (0 to 0.5)")
	users := fs.Int("users", 50, "users in the simulated population")
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to inject (default all: "+strings.Join(generator.Scenarios(), ",")+")")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: log-producer generate --out DIR [--count N] [--seed S] [--anomaly-rate R] [--users U] [--scenarios a,b]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.ErrHelp // usage printed on request: exit 0
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate: unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		fs.Usage()
		return errors.New("generate: --out is required")
	}
	if *rate < 0 || *rate > 0.5 {
		return fmt.Errorf("generate: --anomaly-rate must be in 0..0.5, got %g", *rate)
	}
	opts := dataset.Options{Dir: *out, Count: *count, Seed: *seed, AnomalyRate: *rate, Users: *users}
	if *rate == 0 {
		opts.AnomalyRate = -1 // the generator's "none"
	}
	if *scenarios != "" {
		opts.Scenarios = strings.Split(*scenarios, ",")
	}
	var progress dataset.Progress
	if isTerminal(stderr) {
		progress = dataset.Bar(stderr)
	}
	meta, err := dataset.Write(ctx, opts, progress)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %d lines (%d anomalous, %.2f%%, %s to %s) to %s\n",
		meta.Count, meta.AnomalousLines, 100*meta.ActualRate, meta.Start.Format("2006-01-02"), meta.End.Format("2006-01-02"), *out)
	return nil
}

// isTerminal is a cheap check that w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
