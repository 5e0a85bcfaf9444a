// Package kafkatest helps integration tests use the real broker: the one `make test`
// starts (KAFKA_BROKERS), unique topics per test, and private brokers for tests that stop
// and restart Kafka. It never skips: without a broker the test fails and says why.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkax"
)

// Config returns a configuration for the broker in KAFKA_BROKERS and checks it answers.
func Config(t testing.TB) kafkax.Config {
	t.Helper()
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		t.Fatal("KAFKA_BROKERS is not set: integration tests need a real broker; run them with `make test` (it starts one) or start one with `make kafka-up` and export KAFKA_BROKERS=127.0.0.1:9092")
	}
	cfg := kafkax.DefaultConfig()
	cfg.Brokers = strings.Split(brokers, ",")
	cfg.ClientID = "logwarden-test"
	a, err := kafkax.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.Ping(ctx); err != nil {
		t.Fatalf("broker %s does not answer: %v", brokers, err)
	}
	return cfg
}

// Admin returns an admin client of cfg's brokers, closed when the test ends.
func Admin(t testing.TB, cfg kafkax.Config) *kafkax.Admin {
	t.Helper()
	a, err := kafkax.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// UniqueName returns prefix plus a random suffix, for topics and group ids.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// NewTopic creates a topic with a unique name on the broker of cfg and deletes it (and its
// dead-letter topic) when the test ends.
func NewTopic(t testing.TB, cfg kafkax.Config, partitions int) string {
	t.Helper()
	return NewTopicSpec(t, cfg, kafkax.TopicSpec{Partitions: partitions})
}

// NewTopicSpec creates a topic like NewTopic with spec's settings; spec.Name is replaced
// by a unique name, which it returns.
func NewTopicSpec(t testing.TB, cfg kafkax.Config, spec kafkax.TopicSpec) string {
	t.Helper()
	spec.Name = UniqueName("test-" + sanitize(t.Name()))
	spec.ReplicationFactor = 1
	a := Admin(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.EnsureTopics(ctx, spec); err != nil {
		t.Fatalf("create topic %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = a.DeleteTopics(ctx, spec.Name, kafkax.DLQTopic(spec.Name))
	})
	return spec.Name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return b.String()
}

// ReadN reads n messages of topic from the beginning (no group) or fails the test.
func ReadN(t testing.TB, cfg kafkax.Config, topic string, n int, timeout time.Duration) []kafkax.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := kafkax.ReadTopic(ctx, cfg, topic, n)
	if err != nil {
		t.Fatalf("read %d messages from %s: %v", n, topic, err)
	}
	return msgs
}

// ReadDistinct reads topic from the beginning until every value in want has been seen at
// least once (duplicates are fine: delivery is at-least-once) or timeout; it fails the
// test naming what is missing. It returns how often each value was seen.
func ReadDistinct(t testing.TB, cfg kafkax.Config, topic string, want []string, timeout time.Duration) map[string]int {
	t.Helper()
	missing := make(map[string]bool, len(want))
	for _, v := range want {
		missing[v] = true
	}
	seen := make(map[string]int, len(want))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := kafkax.ReadTopicUntil(ctx, cfg, topic, func(m kafkax.Message) bool {
		seen[string(m.Value)]++
		delete(missing, string(m.Value))
		return len(missing) == 0
	})
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	if len(missing) > 0 {
		some := make([]string, 0, 5)
		for v := range missing {
			if len(some) == 5 {
				break
			}
			some = append(some, v)
		}
		t.Fatalf("read %s: %d of %d values never arrived within %s, e.g. %q", topic, len(missing), len(want), timeout, some)
	}
	return seen
}

// Broker is a private single-node broker for tests that stop and restart Kafka.
type Broker struct {
	t      testing.TB
	port   int
	script string
}

// StartBroker starts a private broker on free ports with scripts/kafka/kafka.sh (5–10 s)
// and removes it, data included, when the test ends.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &Broker{t: t, port: freePortPair(t), script: filepath.Join(root, "scripts", "kafka", "kafka.sh")}
	t.Cleanup(func() { _ = b.run("reset") })
	b.Start()
	return b
}

// Config reaches this broker.
func (b *Broker) Config() kafkax.Config {
	cfg := kafkax.DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:" + strconv.Itoa(b.port)}
	cfg.ClientID = "logwarden-test"
	return cfg
}

// Start starts (or restarts) the broker and waits until it answers; its data survives Stop.
func (b *Broker) Start() {
	b.t.Helper()
	if err := b.run("up"); err != nil {
		b.t.Fatalf("start private broker on port %d: %v", b.port, err)
	}
}

// Stop stops the broker (its data is kept for Start).
func (b *Broker) Stop() {
	b.t.Helper()
	if err := b.run("down"); err != nil {
		b.t.Fatalf("stop private broker on port %d: %v", b.port, err)
	}
}

func (b *Broker) run(verb string) error {
	cmd := exec.Command("bash", b.script, verb)
	cmd.Env = append(os.Environ(), "KAFKA_PORT="+strconv.Itoa(b.port))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kafka.sh %s: %w\n%s", verb, err, out)
	}
	return nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "scripts", "kafka", "kafka.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/kafka/kafka.sh not found above the test's directory")
		}
		dir = parent
	}
}

// freePortPair finds a port p with p+1 free too (the controller listens on p+1).
func freePortPair(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		_ = l.Close()
		if err == nil {
			_ = l2.Close()
			return p
		}
	}
	t.Fatal("no free pair of ports for a private broker")
	return 0
}
