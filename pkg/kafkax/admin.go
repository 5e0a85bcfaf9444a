package kafkax

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/logwarden/logwarden/pkg/retry"
)

// DefaultMaxMessageBytes is Kafka's default message.max.bytes (1 MiB + 12), the limit
// assumed for a topic whose configuration the brokers refuse to describe (no
// DescribeConfigs permission).
const DefaultMaxMessageBytes = 1048588

// Admin is a service's long-lived Kafka client for everything that is not consuming or
// producing: readiness (Ping), topic creation, committed offsets, partition replays and
// topic size limits. It owns one kafka.Transport (one connection per broker plus its
// metadata cache), so a readiness probe every few seconds costs one round trip on an open
// connection, not a new client. Build it once in main, Close it on shutdown. Safe for
// concurrent use.
type Admin struct {
	cfg    Config
	tr     *kafka.Transport
	client *kafka.Client
}

// NewAdmin validates cfg and builds the client; it connects lazily on the first call.
func NewAdmin(cfg Config) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	return &Admin{cfg: cfg, tr: tr, client: &kafka.Client{Addr: kafka.TCP(cfg.brokers()...), Timeout: 15 * time.Second, Transport: tr}}, nil
}

// Close closes the connections and stops the transport's metadata refresh.
func (a *Admin) Close() error {
	a.tr.CloseIdleConnections()
	return nil
}

// Ping asks a broker for its API versions over the admin connection; nil means Kafka
// answers (for /readyz). It is a real round trip, never served from a cache.
func (a *Admin) Ping(ctx context.Context) error {
	resp, err := a.client.ApiVersions(ctx, &kafka.ApiVersionsRequest{})
	if err == nil && resp.Error != nil {
		err = resp.Error
	}
	if err != nil {
		return fmt.Errorf("kafka at %v: %w", a.cfg.brokers(), err)
	}
	return nil
}

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	// Retention is retention.ms; 0 keeps the broker's default, < 0 keeps records forever.
	Retention time.Duration
	// MaxMessageBytes is max.message.bytes; 0 keeps the broker's default.
	MaxMessageBytes int
	// Compact makes a table of the topic (cleanup.policy=compact, or compact,delete with
	// a Retention > 0): the broker keeps the latest record of each key, and a record
	// without a value (a tombstone) deletes its key.
	Compact bool
	// Config holds other topic configuration entries (segment.bytes, …).
	Config map[string]string
}

// EnsureTopics creates the topics that do not exist yet and waits until every partition of
// every named topic has a leader. Existing topics are left as they are (their partition
// count and configuration are not changed).
func (a *Admin) EnsureTopics(ctx context.Context, specs ...TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("ensure topics: empty topic name")
		}
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: max(s.Partitions, 1), ReplicationFactor: max(s.ReplicationFactor, 1)}
		switch {
		case s.Retention > 0:
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{
				ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10),
			})
		case s.Retention < 0:
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "retention.ms", ConfigValue: "-1"})
		}
		if s.Compact {
			policy := "compact"
			if s.Retention > 0 {
				policy = "compact,delete"
			}
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: policy})
		}
		if s.MaxMessageBytes > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{
				ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(s.MaxMessageBytes),
			})
		}
		for _, k := range slices.Sorted(maps.Keys(s.Config)) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: s.Config[k]})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := a.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", name, terr)
		}
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return a.waitForLeaders(ctx, names)
}

// waitForLeaders polls until every partition of names has a leader that answers for it:
// the metadata (the transport's, refreshed when this client creates a topic and every
// few seconds) names a leader, and a ListOffsets sent to it succeeds. A freshly created
// partition can be listed with a leader that still refuses produce requests (NOT_LEADER)
// for a moment; a first write must not meet that.
func (a *Admin) waitForLeaders(ctx context.Context, names []string) error {
	err := retry.Do(ctx, retry.Policy{Initial: 50 * time.Millisecond, Max: time.Second}, func(ctx context.Context, _ int) error {
		md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err != nil {
			return err
		}
		if len(md.Topics) != len(names) {
			return fmt.Errorf("metadata lists %d of %d topics", len(md.Topics), len(names))
		}
		req := &kafka.ListOffsetsRequest{Topics: make(map[string][]kafka.OffsetRequest, len(names))}
		for _, t := range md.Topics {
			if t.Error != nil {
				return fmt.Errorf("topic %s: %w", t.Name, t.Error)
			}
			if len(t.Partitions) == 0 {
				return fmt.Errorf("topic %s: no partitions yet", t.Name)
			}
			for _, p := range t.Partitions {
				if p.Error != nil || p.Leader.Host == "" {
					return fmt.Errorf("topic %s partition %d: no leader yet", t.Name, p.ID)
				}
				req.Topics[t.Name] = append(req.Topics[t.Name], kafka.FirstOffsetOf(p.ID))
			}
		}
		resp, err := a.client.ListOffsets(ctx, req)
		if err != nil {
			return err
		}
		for topic, parts := range resp.Topics {
			for _, p := range parts {
				if p.Error != nil {
					return fmt.Errorf("topic %s partition %d: %w", topic, p.Partition, p.Error)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("wait for leaders of %v: %w", names, err)
	}
	return nil
}

// DeleteTopics deletes topics (tests clean up with it). Missing topics are not an error.
func (a *Admin) DeleteTopics(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	resp, err := a.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
	if err != nil {
		return fmt.Errorf("delete topics %v: %w", names, err)
	}
	for name, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.UnknownTopicOrPartition) {
			return fmt.Errorf("delete topic %s: %w", name, terr)
		}
	}
	return nil
}

// partitions lists the partition ids of topic from the transport's metadata, waiting
// for a topic created elsewhere to appear in it (the metadata refreshes every few
// seconds) until ctx ends.
func (a *Admin) partitions(ctx context.Context, topic string) ([]int, error) {
	var parts []int
	err := retry.Do(ctx, retry.Policy{Initial: 100 * time.Millisecond, Max: time.Second}, func(ctx context.Context, _ int) error {
		md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return err
		}
		if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) == 0 {
			return fmt.Errorf("topic %s not found", topic)
		}
		parts = parts[:0]
		for _, p := range md.Topics[0].Partitions {
			parts = append(parts, p.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	return parts, nil
}

// CommittedOffsets returns group's committed offset per partition of topic (-1: none).
func (a *Admin) CommittedOffsets(ctx context.Context, group, topic string) (map[int]int64, error) {
	parts, err := a.partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("offset fetch for group %s: %w", group, err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("offset fetch for group %s: %w", group, resp.Error)
	}
	out := make(map[int]int64, len(parts))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("offset fetch for group %s partition %d: %w", group, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// MaxMessageBytes returns the largest record batch topic accepts: the topic's
// max.message.bytes, else the broker's message.max.bytes, else (the brokers refuse to
// describe their configuration) DefaultMaxMessageBytes.
func (a *Admin) MaxMessageBytes(ctx context.Context, topic string) (int, error) {
	n, terr := a.describeInt(ctx, kafka.ResourceTypeTopic, topic, "max.message.bytes")
	if terr == nil {
		return n, nil
	}
	md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return 0, fmt.Errorf("max.message.bytes of %s: %w", topic, errors.Join(terr, err))
	}
	var berr error = errors.New("no broker in metadata")
	for _, b := range md.Brokers {
		if n, berr = a.describeInt(ctx, kafka.ResourceTypeBroker, strconv.Itoa(b.ID), "message.max.bytes"); berr == nil {
			return n, nil
		}
	}
	if isAuthorization(terr) && isAuthorization(berr) {
		return DefaultMaxMessageBytes, nil
	}
	return 0, fmt.Errorf("max.message.bytes of %s: %w", topic, errors.Join(terr, berr))
}

func isAuthorization(err error) bool {
	return errors.Is(err, kafka.TopicAuthorizationFailed) || errors.Is(err, kafka.ClusterAuthorizationFailed)
}

func (a *Admin) describeInt(ctx context.Context, typ kafka.ResourceType, name, key string) (int, error) {
	resp, err := a.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: typ, ResourceName: name, ConfigNames: []string{key}}},
	})
	if err != nil {
		return 0, err
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return 0, fmt.Errorf("describe %s: %w", name, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != key {
				continue
			}
			n, err := strconv.Atoi(e.ConfigValue)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("describe %s: %s = %q", name, key, e.ConfigValue)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("describe %s: no %s", name, key)
}
