//go:build integration

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// The end-to-end test: a labelled dataset from the generator goes through the producer
// (stdin source, paced), the classifier and the notifier to a local Slack webhook, on a
// private broker. The classifier starts as one process and scales out to three; then one
// of them is SIGKILLed, Slack answers 503 and 429 for a few seconds, and the broker is
// stopped and restarted. Every event must get its verdict, every injected incident must
// reach Slack with its entity, and normal users must stay quiet: in particular the
// replicas that take partitions over start from the learnt state the others shared
// (STATE_TOPIC), so they raise no burst of "new template" or "new network" alerts.
const (
	e2eEvents   = 20000
	e2eSeed     = 20261124
	e2eFeedTime = 30 * time.Second
)

type label struct {
	Line       int    `json:"line"`
	Anomalous  bool   `json:"anomalous"`
	Scenario   string `json:"scenario"`
	IncidentID string `json:"incident_id"`
	Entity     string `json:"entity"`
}

type incident struct {
	id, scenario, entity string
	lines                int
	addrs                map[string]bool // source addresses of its lines (brute force is also alerted per address)
}

func TestPipeline(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	work := t.TempDir()
	bins, err := Build(ctx, root, work)
	if err != nil {
		t.Fatal(err)
	}

	// The dataset, with its ground truth.
	ds := filepath.Join(work, "ds")
	gen := exec.CommandContext(ctx, bins["log-producer"], "generate", "--out", ds,
		"--count", fmt.Sprint(e2eEvents), "--seed", fmt.Sprint(e2eSeed))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	lines := readLines(t, filepath.Join(ds, "lines.log"))
	incidents := readIncidents(t, filepath.Join(ds, "labels.jsonl"), lines)
	if len(lines) != e2eEvents || len(incidents) < 10 {
		t.Fatalf("dataset: %d lines, %d incidents", len(lines), len(incidents))
	}
	t.Logf("dataset: %d lines, %d incidents", len(lines), len(incidents))

	broker := kafkatest.StartBroker(t)
	kcfg := broker.Config()
	brokers := strings.Join(kcfg.Brokers, ",")
	raw, verdicts, alerts := kafkatest.UniqueName("e2e-raw"), kafkatest.UniqueName("e2e-verdicts"), kafkatest.UniqueName("e2e-alerts")
	// E2E_STATE_TOPIC=off runs the classifiers without the state topic, for comparison
	stateTopic, classifierArgs := kafkatest.UniqueName("e2e-state"), []string{"run"}
	if os.Getenv("E2E_STATE_TOPIC") == "off" {
		stateTopic, classifierArgs = "", []string{"run", "--state-topic="}
	}
	if err := kafkatest.Admin(t, kcfg).EnsureTopics(ctx,
		kafkax.TopicSpec{Name: raw, Partitions: 6, ReplicationFactor: 1},
		kafkax.TopicSpec{Name: verdicts, Partitions: 6, ReplicationFactor: 1},
		kafkax.TopicSpec{Name: alerts, Partitions: 6, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}

	slack := NewFakeSlack()
	defer slack.Close()
	common := []string{"KAFKA_BROKERS=" + brokers, "LOG_FORMAT=json", "LOG_LEVEL=info", "HTTP_ADDR=127.0.0.1:0", "TOPIC_PARTITIONS=6"}
	start := func(name, bin string, stdin io.Reader, env ...string) *Proc {
		t.Helper()
		args := []string{"run"}
		if bin == bins["anomaly-classifier"] {
			args = classifierArgs
		}
		p, err := Start(ProcSpec{Name: name, Bin: bin, Args: args, Env: append(append([]string{}, common...), env...), Dir: work, Stdin: stdin})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if p.Running() {
				p.Kill()
			}
			if t.Failed() {
				t.Logf("--- %s log (tail):\n%s", p.Name, p.Tail(40))
			}
		})
		return p
	}

	notifier := start("slack-notifier", bins["slack-notifier"], nil,
		"ALERTS_TOPIC="+alerts, "GROUP_ID="+kafkatest.UniqueName("e2e-notifier"), "SLACK_WEBHOOK_URL="+slack.URL(),
		"SLACK_RATE_PER_SECOND=100", "GROUP_WAIT=500ms", "GROUP_INTERVAL=2s", "CONSUMER_SESSION_TIMEOUT=6s")
	// stats.global_warmup counts the events an instance has seen (the largest count of
	// the fleet, through the state topic): with the default 1,000 a foreign login at line
	// ~1,800 of this dataset (inc-…-00008) falls inside the warm-up or not depending on how
	// the group split the partitions. Half the default leaves room for that.
	// The state is saved every 2 s here (5 min by default), so that what a replica learnt
	// before it is killed is mostly in the topic.
	classifierEnv := []string{"INPUT_TOPIC=" + raw, "VERDICTS_TOPIC=" + verdicts, "ALERTS_TOPIC=" + alerts,
		"GROUP_ID=" + kafkatest.UniqueName("e2e-classifier"), "CONSUMER_SESSION_TIMEOUT=6s", "STATS_GLOBAL_WARMUP=500",
		"STATE_TOPIC=" + stateTopic, "STATE_SAVE_INTERVAL=2s"}
	c1 := start("anomaly-classifier-1", bins["anomaly-classifier"], nil, classifierEnv...)

	pr, pw := io.Pipe()
	producer := start("log-producer", bins["log-producer"], pr, "SOURCES=stdin", "TOPIC="+raw)

	// Feed the lines at a steady pace from a goroutine: while the broker is down the
	// producer stops reading and the pipe blocks, which is the back-pressure we want.
	var fed atomic.Int64
	feedErr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(pw)
		tick := e2eFeedTime / time.Duration(len(lines)/100)
		for i, l := range lines {
			if _, err := w.WriteString(l + "\n"); err != nil {
				feedErr <- err
				return
			}
			if i%100 == 99 {
				if err := w.Flush(); err != nil {
					feedErr <- err
					return
				}
				fed.Store(int64(i + 1))
				time.Sleep(tick)
			}
		}
		err := w.Flush()
		fed.Store(int64(len(lines)))
		pw.Close()
		feedErr <- err
	}()
	waitFed := func(n int) {
		t.Helper()
		for fed.Load() < int64(n) {
			if ctx.Err() != nil {
				t.Fatalf("feeding stalled at %d of %d lines", fed.Load(), len(lines))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	waitFed(len(lines) / 5)
	t.Logf("%d lines fed: scale out from 1 to 3 classifiers", fed.Load())
	c2 := start("anomaly-classifier-2", bins["anomaly-classifier"], nil, classifierEnv...)
	c3 := start("anomaly-classifier-3", bins["anomaly-classifier"], nil, classifierEnv...)

	waitFed(len(lines) * 2 / 5)
	t.Logf("%d lines fed: SIGKILL %s", fed.Load(), c2.Name)
	c2.Kill()

	waitFed(len(lines) / 2)
	t.Logf("%d lines fed: Slack answers 503, then 429 with Retry-After: 1", fed.Load())
	slack.Fail(http.StatusServiceUnavailable, "")
	time.Sleep(2 * time.Second)
	slack.Fail(http.StatusTooManyRequests, "1")
	time.Sleep(2 * time.Second)
	slack.Recover()
	t.Logf("Slack back")

	waitFed(len(lines) * 3 / 5)
	t.Logf("%d lines fed: stopping the broker", fed.Load())
	broker.Stop()
	time.Sleep(3 * time.Second)
	broker.Start()
	t.Logf("broker back")

	if err := <-feedErr; err != nil {
		t.Fatalf("feeding the producer: %v", err)
	}
	select {
	case <-producer.Done():
		if err := producer.Err(); err != nil {
			t.Fatalf("producer exited with %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("producer did not finish after stdin closed")
	}
	t.Logf("producer done: every line acknowledged by Kafka")

	// Nothing lost: every event on logs.raw has a verdict.
	// (The producer's retries across the broker restart may have written some twice.)
	want := map[string]bool{}
	rctx, rcancel := context.WithTimeout(ctx, 60*time.Second)
	rawMsgs, err := kafkax.ReadTopicUntil(rctx, kcfg, raw, func(m kafkax.Message) bool {
		want[m.Header(kafkax.HeaderEventID)] = true
		return len(want) == len(lines)
	})
	rcancel()
	if len(want) != len(lines) {
		t.Fatalf("logs.raw holds %d distinct event ids for %d lines (%d messages read, read error: %v)", len(want), len(lines), len(rawMsgs), err)
	}
	t.Logf("logs.raw: %d messages for %d lines (%d written twice by producer retries)", len(rawMsgs), len(lines), len(rawMsgs)-len(lines))
	got := map[string]bool{}
	vctx, vcancel := context.WithTimeout(ctx, 90*time.Second)
	_, err = kafkax.ReadTopicUntil(vctx, kcfg, verdicts, func(m kafkax.Message) bool {
		var v logwardenpb.Verdict
		if proto.Unmarshal(m.Value, &v) == nil && want[v.GetEvent().GetId()] {
			got[v.GetEvent().GetId()] = true
		}
		return len(got) == len(want)
	})
	vcancel()
	if len(got) != len(want) {
		t.Fatalf("verdicts for %d of %d events (read error: %v)", len(got), len(want), err)
	}
	t.Logf("every one of the %d events has a verdict", len(got))

	// Every incident reaches Slack with its entity; alerts carry the expected severity.
	deadline := time.Now().Add(60 * time.Second)
	var missing []incident
	for {
		missing = missing[:0]
		bodies := postedText(slack.Delivered())
		for _, in := range incidents {
			if !strings.Contains(bodies, in.entity) {
				missing = append(missing, in)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-slack.Notify():
		case <-time.After(time.Second):
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d incidents never reached Slack:", len(missing), len(incidents))
		for _, in := range missing {
			t.Errorf("  %s %s (%s, %d lines)", in.id, in.scenario, in.entity, in.lines)
		}
	}

	alertMsgs, _ := readAll(ctx, kcfg, alerts)
	bySeverity := map[string]logwardenpb.Severity{} // entity → highest severity alerted
	titles := map[string][]string{}                 // entity → the alerts' titles
	for _, m := range alertMsgs {
		var a logwardenpb.Alert
		if proto.Unmarshal(m.Value, &a) != nil {
			t.Fatalf("alerts topic holds a message that is not an Alert at offset %d", m.Offset)
		}
		titles[a.GetEntity()] = append(titles[a.GetEntity()], a.GetFingerprint()+": "+a.GetTitle())
		if a.GetSeverity() > bySeverity[a.GetEntity()] {
			bySeverity[a.GetEntity()] = a.GetSeverity()
		}
	}
	for _, in := range incidents {
		if minSev := minSeverity[in.scenario]; bySeverity[in.entity] < minSev {
			t.Errorf("incident %s %s (%s): highest alert severity %v, want at least %v", in.id, in.scenario, in.entity, bySeverity[in.entity], minSev)
		}
	}

	// Normal traffic stays quiet: alerts about users without any incident are rare.
	incidentEntities := map[string]bool{}
	for _, in := range incidents {
		incidentEntities[in.entity] = true
		for a := range in.addrs {
			incidentEntities[a] = true
		}
	}
	var quietBroken []string
	for e := range bySeverity {
		if !incidentEntities[e] {
			quietBroken = append(quietBroken, e)
		}
	}
	sort.Strings(quietBroken)
	for _, e := range quietBroken {
		t.Logf("alerted without incident: %s: %s", e, strings.Join(titles[e], "; "))
	}
	// Novelty after a takeover: alerts of new templates and new login networks about
	// entities without incidents. A replica that starts cold (or knows only its share of
	// the fleet) raises them for what the fleet has long seen.
	novel := map[string]int{}
	for _, m := range alertMsgs {
		var a logwardenpb.Alert
		_ = proto.Unmarshal(m.Value, &a)
		rule := a.GetFindings()[0].GetRuleId()
		if incidentEntities[a.GetEntity()] {
			continue
		}
		switch {
		case strings.HasPrefix(rule, "template.new"):
			novel["template.new*"]++
		case rule == "stats.new-network":
			novel["stats.new-network"]++
		default:
			continue
		}
		t.Logf("novelty alert without incident: %s: %s", a.GetFingerprint(), a.GetSummary())
	}
	t.Logf("novelty alerts about entities without incidents: template.new* %d, stats.new-network %d",
		novel["template.new*"], novel["stats.new-network"])
	if stateTopic != "" && novel["template.new*"]+novel["stats.new-network"] > maxNovelAfterTakeover {
		t.Errorf("%d novelty alerts about entities without incidents after the scale-out and the SIGKILL (at most %d)",
			novel["template.new*"]+novel["stats.new-network"], maxNovelAfterTakeover)
	}
	restored := 0
	for _, p := range []*Proc{c1, c2, c3} {
		restored += strings.Count(readFile(t, p.Log), "restored a partition's users from the state topic")
	}
	t.Logf("partitions whose users were restored from the state topic: %d", restored)
	if stateTopic != "" && restored == 0 {
		t.Error("no partition's users were restored from the state topic after the scale-out and the SIGKILL")
	}
	if len(quietBroken) > maxQuietBroken {
		t.Errorf("alerts about %d entities without any incident (at most %d allowed): %v", len(quietBroken), maxQuietBroken, quietBroken)
	}
	t.Logf("Slack: %d posts (%d delivered) for %d alerts; entities alerted without incident: %v",
		len(slack.Posts()), len(slack.Delivered()), len(alertMsgs), quietBroken)

	// Everything stops cleanly on SIGTERM.
	for _, p := range []*Proc{c1, c3, notifier} {
		if err := p.Stop(30 * time.Second); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

// minSeverity is the least severity the pipeline must give each scenario.
var minSeverity = map[string]logwardenpb.Severity{
	"sensitive_file":       logwardenpb.Severity_SEVERITY_HIGH,
	"sensitive_file_burst": logwardenpb.Severity_SEVERITY_HIGH,
	"dangerous_command":    logwardenpb.Severity_SEVERITY_HIGH,
	"brute_force":          logwardenpb.Severity_SEVERITY_MEDIUM,
	"mass_file_access":     logwardenpb.Severity_SEVERITY_MEDIUM,
	"new_far_ip":           logwardenpb.Severity_SEVERITY_LOW,
	"off_hours":            logwardenpb.Severity_SEVERITY_LOW,
}

// maxNovelAfterTakeover bounds the new-template and new-network alerts about entities
// without incidents over the run (the scale-out and the SIGKILL included).
const maxNovelAfterTakeover = 1

// maxQuietBroken bounds the users without incident that may still be alerted on. The
// statistical detectors have a small false-alarm rate (eval: 1 line on this dataset with
// one instance), and two instances each learn which networks are common only from their
// own users, so a "login source never seen" on a shared network happens more often; 8
// runs saw 0–2 such users.
const maxQuietBroken = 3

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readIncidents(t *testing.T, path string, lines []string) []incident {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byID := map[string]*incident{}
	var order []string
	dec := json.NewDecoder(f)
	for {
		var l label
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !l.Anomalous {
			continue
		}
		in, ok := byID[l.IncidentID]
		if !ok {
			in = &incident{id: l.IncidentID, scenario: l.Scenario, entity: l.Entity, addrs: map[string]bool{}}
			byID[l.IncidentID] = in
			order = append(order, l.IncidentID)
		}
		in.lines++
		if l.Line >= 1 && l.Line <= len(lines) { // "[02/Jan/2006 15:04:05] <ip> <user> …"
			if f := strings.Fields(lines[l.Line-1]); len(f) > 3 {
				in.addrs[f[2]] = true
			}
		}
	}
	out := make([]incident, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

// postedText joins the delivered bodies (JSON) for substring checks.
func postedText(posts []Post) string {
	var b strings.Builder
	for _, p := range posts {
		b.Write(p.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// readAll reads every message of topic present now.
func readAll(ctx context.Context, cfg kafkax.Config, topic string) ([]kafkax.Message, error) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []kafkax.Message
	_, err := kafkax.ReadTopicUntil(rctx, cfg, topic, func(m kafkax.Message) bool {
		out = append(out, m)
		return false
	})
	return out, err
}
