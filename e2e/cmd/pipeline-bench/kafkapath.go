package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/logwarden/logwarden/e2e"
	"github.com/logwarden/logwarden/pkg/event"
	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// pathResult is one row of the Kafka-path table: our figure and kcat's on the same data.
type pathResult struct {
	path      string
	rate      float64 // events/s
	cpuPer1M  float64 // CPU seconds per million events (-1: unknown)
	kcatName  string
	kcatRate  float64
	kcatCPU1M float64
	load      float64 // one-minute load average when the measurement started
}

func (r pathResult) ratio() float64 {
	if r.kcatRate <= 0 {
		return 0
	}
	return r.rate / r.kcatRate
}

// kafkaPath measures the Kafka path against kcat (librdkafka) on the same broker and the
// same generated lines: kcat -P and log-producer --sources stdin (acks=all), then kcat -C
// and one classifier replica draining the producer's topic for each verdict mode.
func (b *bench) kafkaPath(ctx context.Context) ([]pathResult, error) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		return nil, fmt.Errorf("kcat not found (Debian: apt-get install -y kcat; scripts/bench.sh installs it when run as root): %w", err)
	}
	n := b.o.events
	ds := filepath.Join(b.work, "ds")
	fmt.Fprintf(b.stderr, "generating %d tutorial lines…\n", n)
	gen := exec.CommandContext(ctx, b.bins["log-producer"], "generate", "--out", ds, "--count", strconv.Itoa(n), "--seed", "7")
	if out, err := gen.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("generate: %w\n%s", err, out)
	}
	lines := filepath.Join(ds, "lines.log")
	keyed := filepath.Join(ds, "keyed.tsv")
	if err := writeKeyed(lines, keyed); err != nil {
		return nil, err
	}
	kcatTopic, prodTopic := b.name("kcat-in"), b.name("prod-in")
	if err := b.topics(ctx, kcatTopic, prodTopic); err != nil {
		return nil, err
	}
	brokers := strings.Join(b.cfg.Brokers, ",")

	// Produce: kcat first, then ours, on the same lines and keys.
	fmt.Fprintln(b.stderr, "kcat -P…")
	kp := pathResult{load: e2e.LoadAverage()}
	kp.kcatRate, kp.kcatCPU1M, err = runKcat(ctx, n, kcat, nil, "-P", "-b", brokers, "-t", kcatTopic, "-K", "\t",
		"-X", "acks=all", "-X", "partitioner=murmur2_random", "-z", b.o.compression, "-l", keyed)
	if err != nil {
		return nil, fmt.Errorf("kcat -P: %w", err)
	}
	fmt.Fprintln(b.stderr, "log-producer --sources stdin…")
	in, err := os.Open(lines)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	start := time.Now()
	p, err := e2e.Start(e2e.ProcSpec{Name: "log-producer-stdin", Bin: b.bins["log-producer"], Args: []string{"run"},
		Env: []string{"KAFKA_BROKERS=" + brokers, "LOG_FORMAT=json", "LOG_LEVEL=warn", "TOPIC_PARTITIONS=6", "SOURCES=stdin",
			"TOPIC=" + prodTopic, "HTTP_ADDR=127.0.0.1:0", "WRITER_COMPRESSION=" + b.o.compression}, Dir: b.work, Stdin: in})
	if err != nil {
		return nil, err
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
	el := time.Since(start)
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("log-producer: %w\n%s", err, p.Tail(20))
	}
	cpu, _ := p.CPU()
	kp.path = "produce, acks=all, " + b.o.compression + ": log-producer --sources stdin vs kcat -P (keyed, murmur2)"
	kp.kcatName = "kcat -P"
	kp.rate = float64(n) / el.Seconds()
	kp.cpuPer1M = cpu.Seconds() / float64(n) * 1e6
	out := []pathResult{kp}
	fmt.Fprintf(b.stderr, "  log-producer %.0f ev/s (%.1f CPU-s per 1M), kcat %.0f msgs/s\n", kp.rate, kp.cpuPer1M, kp.kcatRate)

	// Consume: kcat reads the producer's topic, then one classifier per verdict mode.
	fmt.Fprintln(b.stderr, "kcat -C…")
	kcLoad := e2e.LoadAverage()
	kcRate, kcCPU, err := runKcat(ctx, n, kcat, countLines(n), "-C", "-b", brokers, "-t", prodTopic, "-o", "beginning", "-e", "-q", "-f", `%o\n`)
	if err != nil {
		return nil, fmt.Errorf("kcat -C: %w", err)
	}
	fmt.Fprintf(b.stderr, "  kcat -C %.0f msgs/s\n", kcRate)
	for _, mode := range b.o.verdictMode {
		r, err := b.drainOne(ctx, prodTopic, n, mode)
		if err != nil {
			return nil, err
		}
		r.kcatName, r.kcatRate, r.kcatCPU1M = "kcat -C", kcRate, kcCPU
		if r.load < 0 {
			r.load = kcLoad
		}
		fmt.Fprintf(b.stderr, "  verdicts=%s: %.0f ev/s (%.1f CPU-s per 1M)\n", mode, r.rate, r.cpuPer1M)
		out = append(out, r)
	}
	_ = b.admin.DeleteTopics(context.WithoutCancel(ctx), kcatTopic, prodTopic)
	return out, nil
}

// drainOne runs one classifier replica with the verdict mode ("all", "anomalous", "off",
// with "/ref" for verdicts that reference their event) until its group committed all n
// events of topic. Rate and CPU count from its first commit on (group join and rule
// loading excluded).
func (b *bench) drainOne(ctx context.Context, topic string, n int, mode string) (pathResult, error) {
	verdicts, event, _ := strings.Cut(mode, "/")
	if event == "" {
		event = "full"
	}
	group, vt, at := b.name("drain1-group"), b.name("drain1-verdicts"), b.name("drain1-alerts")
	env := []string{"INPUT_TOPIC=" + topic, "VERDICTS_TOPIC=" + vt, "ALERTS_TOPIC=" + at, "GROUP_ID=" + group,
		"HTTP_ADDR=127.0.0.1:0", "VERDICTS=" + verdicts, "VERDICT_EVENT=" + event, "WRITER_COMPRESSION=" + b.o.compression}
	r := pathResult{path: "consume: 1 anomaly-classifier, verdicts=" + mode + " (alerts written, commit per batch)", load: e2e.LoadAverage()}
	c, err := b.start("anomaly-classifier-"+strings.ReplaceAll(mode, "/", "-"), b.bins["anomaly-classifier"], env...)
	if err != nil {
		return r, err
	}
	defer func() {
		stopAll(c)
		_ = b.admin.DeleteTopics(context.WithoutCancel(ctx), vt, at, vt+".dlq", at+".dlq")
	}()
	var first time.Time
	var firstN int64
	var cpuFirst time.Duration
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if !c.Running() {
			return r, fmt.Errorf("classifier (verdicts=%s) exited: %v\n%s", mode, c.Err(), c.Tail(20))
		}
		offs, err := b.admin.CommittedOffsets(ctx, group, topic)
		var got int64
		for _, o := range offs {
			if o > 0 {
				got += o
			}
		}
		if err == nil && got > 0 && first.IsZero() {
			first, firstN = time.Now(), got
			cpuFirst, _ = c.CPU()
		}
		if err == nil && got >= int64(n) {
			el := time.Since(first)
			cpu, _ := c.CPU()
			r.rate = float64(int64(n)-firstN) / el.Seconds()
			r.cpuPer1M = (cpu - cpuFirst).Seconds() / float64(int64(n)-firstN) * 1e6
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("classifier (verdicts=%s) did not drain %d events in 10 minutes (committed %d)", mode, n, got)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runKcat runs kcat with args until it exits and returns n / its wall time and its CPU
// seconds per million. check, when set, reads kcat's standard output and says what is wrong
// with it.
func runKcat(ctx context.Context, n int, bin string, check func(io.Reader) error, args ...string) (rate, cpu1M float64, err error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var out io.ReadCloser
	if check != nil {
		if out, err = cmd.StdoutPipe(); err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var cerr error
	if check != nil {
		cerr = check(out)
		_, _ = io.Copy(io.Discard, out)
	}
	err = cmd.Wait()
	el := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s", err, stderr.String())
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return float64(n) / el.Seconds(), cpu.Seconds() / float64(n) * 1e6, nil
}

// countLines checks that kcat printed n lines (one per message).
func countLines(n int) func(io.Reader) error {
	return func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		got := 0
		for sc.Scan() {
			got++
		}
		if got != n {
			return fmt.Errorf("read %d messages, want %d", got, n)
		}
		return sc.Err()
	}
}

// writeKeyed writes the lines as "key<TAB>line" for kcat -K, keyed by the entity the
// producer would use (user, else host, else source), so both spread them alike.
func writeKeyed(lines, keyed string) error {
	in, err := os.Open(lines)
	if err != nil {
		return err
	}
	defer in.Close()
	f, err := os.Create(keyed)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	p := logparse.New(logparse.Options{})
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		ev := &logwardenpb.LogEvent{Source: "stdin"}
		p.Parse(sc.Text(), ev)
		fmt.Fprintf(w, "%s\t%s\n", event.EntityKey(ev), sc.Text())
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printPath(w io.Writer, n int, rs []pathResult) {
	fmt.Fprintf(w, "\nKafka path against kcat (librdkafka) on the same broker, %d generated lines, 6 partitions\n\n", n)
	fmt.Fprintln(w, "| path | logwarden ev/s | CPU-s per 1M | kcat | kcat msgs/s | kcat CPU-s per 1M | ratio | load avg |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %s | %.0f | %.2f | %.2f | %.1f |\n", r.path, r.rate, r.cpuPer1M, r.kcatName, r.kcatRate, r.kcatCPU1M, r.ratio(), r.load)
	}
}
