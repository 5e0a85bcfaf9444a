// Command pipeline-bench drives the real pipeline (log-producer → anomaly-classifier →
// slack-notifier → a local Slack webhook) on a running Kafka broker and prints:
//
//   - at rising offered rates (HTTP ingest into the producer): accepted and classified
//     events/s, and p50/p95/p99 latency from the POST to the verdict and from the POST to
//     the Slack webhook POST of an alert (group_wait=0);
//   - classifier throughput with 1, 2 and 3 replicas in one group, draining a topic
//     pre-filled with generated events;
//   - the Kafka path against kcat (librdkafka) on the same broker and the same generated
//     lines, in the same run: log-producer --sources stdin vs kcat -P (acks=all), and one
//     classifier replica per verdict mode vs kcat -C, with CPU-seconds per million events
//     (from /proc and rusage) and the ratios to kcat.
//
// It builds the three services itself. `make bench` runs it after the Go benchmarks.
//
//	pipeline-bench [--brokers 127.0.0.1:9092] [--rates 250,500,1000,2000,4000] [--step 10s]
//	               [--replicas 1,2,3] [--drain-events 300000]
//	               [--sections rising,drain,kafka] [--events 1000000] [--verdicts anomalous,all,all/ref,off]
//	               [--compression lz4] [--bins DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/logwarden/logwarden/e2e"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "pipeline-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	brokers     string
	rates       []int
	step        time.Duration
	replicas    []int
	drainEvents int
	keep        bool
	sections    map[string]bool
	events      int
	verdictMode []string
	binsDir     string
	compression string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("pipeline-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := getenv("KAFKA_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	o := options{}
	fs.StringVar(&o.brokers, "brokers", brokers, "Kafka bootstrap brokers (default $KAFKA_BROKERS)")
	rates := fs.String("rates", "500,1000,2000,4000,8000,16000,32000", "offered rates in events/s, one step each")
	fs.DurationVar(&o.step, "step", 10*time.Second, "duration of each rate step")
	replicas := fs.String("replicas", "1,2,3", "classifier replica counts for the drain test")
	fs.IntVar(&o.drainEvents, "drain-events", 300000, "events pre-filled for the drain test")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory with the service logs")
	sections := fs.String("sections", "rising,drain,kafka", "what to measure: rising (latency at rising rates), drain (1-3 replicas), kafka (the Kafka path against kcat)")
	fs.IntVar(&o.events, "events", 1000000, "lines produced and drained by the kafka section")
	verdicts := fs.String("verdicts", "anomalous,all,all/ref,off", "verdict modes of the kafka section's classifier runs (VERDICTS, /ref: VERDICT_EVENT=ref)")
	fs.StringVar(&o.compression, "compression", "lz4", "compression of the kafka section's writes, ours (WRITER_COMPRESSION) and kcat's (-z): none, lz4, zstd, snappy, gzip")
	fs.StringVar(&o.binsDir, "bins", "", "directory of prebuilt log-producer, anomaly-classifier and slack-notifier (default: build them)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.rates, err = ints(*rates); err != nil {
		return o, fmt.Errorf("--rates: %w", err)
	}
	if o.replicas, err = ints(*replicas); err != nil {
		return o, fmt.Errorf("--replicas: %w", err)
	}
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		switch s = strings.TrimSpace(s); s {
		case "rising", "drain", "kafka":
			o.sections[s] = true
		case "":
		default:
			return o, fmt.Errorf("--sections: unknown section %q (rising, drain, kafka)", s)
		}
	}
	for _, v := range strings.Split(*verdicts, ",") {
		if v = strings.TrimSpace(v); v != "" {
			o.verdictMode = append(o.verdictMode, v)
		}
	}
	if o.step <= 0 || o.drainEvents <= 0 || o.events <= 0 {
		return o, errors.New("--step, --drain-events and --events must be positive")
	}
	return o, nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "pipeline-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(stderr, "work directory (logs): %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	cfg := kafkax.DefaultConfig()
	cfg.Brokers = strings.Split(o.brokers, ",")
	cfg.ClientID = "pipeline-bench"
	admin, err := kafkax.NewAdmin(cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = admin.Ping(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("kafka at %s: %w", o.brokers, err)
	}
	var bins map[string]string
	if o.binsDir != "" {
		bins = map[string]string{}
		for _, s := range e2e.Services {
			bins[s] = filepath.Join(o.binsDir, s)
		}
	} else {
		root, err := e2e.RepoRoot()
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, "building the services…")
		if bins, err = e2e.Build(ctx, root, work); err != nil {
			return err
		}
	}
	b := &bench{o: o, cfg: cfg, admin: admin, bins: bins, work: work, stderr: stderr}

	if o.sections["kafka"] {
		// First: the whole machine is quietest before the other sections ran.
		rs, err := b.kafkaPath(ctx)
		if err != nil {
			return err
		}
		printPath(stdout, o.events, rs)
	}
	if o.sections["rising"] {
		if err := b.printRising(ctx, stdout); err != nil {
			return err
		}
	}
	if o.sections["drain"] {
		if err := b.printDrain(ctx, stdout); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) printRising(ctx context.Context, stdout io.Writer) error {
	o := b.o
	steps, err := b.rising(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nRising load (1 classifier, HTTP ingest → producer → classifier → notifier at group_wait=0 → local Slack), %s per step\n\n", o.step)
	fmt.Fprintln(stdout, "| offered ev/s | accepted ev/s | classified ev/s | produce→verdict p50 / p95 / p99 | produce→Slack POST p50 / p95 / p99 (n) | load avg |")
	fmt.Fprintln(stdout, "|---:|---:|---:|---|---|---:|")
	for _, s := range steps {
		fmt.Fprintf(stdout, "| %d | %.0f | %.0f | %s | %s (%d) | %.1f |\n", s.offered, s.accepted, s.classified,
			s.verdict.String(), s.slack.String(), s.slack.n, s.load)
	}
	return nil
}

func (b *bench) printDrain(ctx context.Context, stdout io.Writer) error {
	o := b.o
	drains, err := b.drain(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nClassifier replicas draining %d generated events (one consumer group, 6 partitions)\n\n", o.drainEvents)
	fmt.Fprintln(stdout, "| replicas | events/s | seconds |")
	fmt.Fprintln(stdout, "|---:|---:|---:|")
	for _, d := range drains {
		fmt.Fprintf(stdout, "| %d | %.0f | %.1f |\n", d.replicas, d.rate, d.seconds)
	}
	return nil
}
