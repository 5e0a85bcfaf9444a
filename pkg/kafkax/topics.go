package kafkax

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	// Retention is retention.ms; 0 keeps the broker's default.
	Retention time.Duration
}

func newClient(cfg Config, timeout time.Duration) (*kafka.Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	return &kafka.Client{Addr: kafka.TCP(cfg.brokers()...), Timeout: timeout, Transport: tr}, nil
}

// EnsureTopics creates the topics that do not exist yet and waits until every partition of
// every named topic has a leader. Existing topics are left as they are (their partition
// count is not changed).
func EnsureTopics(ctx context.Context, cfg Config, specs ...TopicSpec) error {
	if len(specs) == 0 {
		return nil
	}
	client, err := newClient(cfg, 15*time.Second)
	if err != nil {
		return err
	}
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		if s.Name == "" {
			return errors.New("ensure topics: empty topic name")
		}
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		if tc.NumPartitions <= 0 {
			tc.NumPartitions = 1
		}
		if tc.ReplicationFactor <= 0 {
			tc.ReplicationFactor = 1
		}
		if s.Retention > 0 {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{
				ConfigName: "retention.ms", ConfigValue: strconv.FormatInt(s.Retention.Milliseconds(), 10),
			})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := client.CreateTopics(ctx, req)
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
	return waitForLeaders(ctx, client, names)
}

func waitForLeaders(ctx context.Context, client *kafka.Client, names []string) error {
	backoff := 50 * time.Millisecond
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: names})
		if err == nil {
			ready := true
			for _, t := range md.Topics {
				if t.Error != nil || len(t.Partitions) == 0 {
					ready = false
					break
				}
				for _, p := range t.Partitions {
					if p.Error != nil || p.Leader.Host == "" {
						ready = false
					}
				}
			}
			if ready && len(md.Topics) == len(names) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("wait for topics %v: %w (last error: %v)", names, ctx.Err(), err)
			}
			return fmt.Errorf("wait for topics %v: %w", names, ctx.Err())
		case <-time.After(backoff):
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// DeleteTopics deletes topics (tests clean up with it). Missing topics are not an error.
func DeleteTopics(ctx context.Context, cfg Config, names ...string) error {
	client, err := newClient(cfg, 15*time.Second)
	if err != nil {
		return err
	}
	resp, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names})
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

// Ping asks the brokers for cluster metadata; nil means Kafka is reachable (for /readyz).
func Ping(ctx context.Context, cfg Config) error {
	client, err := newClient(cfg, 5*time.Second)
	if err != nil {
		return err
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("kafka metadata from %v: %w", cfg.brokers(), err)
	}
	if len(md.Brokers) == 0 {
		return fmt.Errorf("kafka metadata from %v: no brokers", cfg.brokers())
	}
	return nil
}

// CommittedOffsets returns group's committed offset per partition of topic (-1: none).
func CommittedOffsets(ctx context.Context, cfg Config, group, topic string) (map[int]int64, error) {
	client, err := newClient(cfg, 10*time.Second)
	if err != nil {
		return nil, err
	}
	md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: topic not found", topic)
	}
	parts := make([]int, 0, len(md.Topics[0].Partitions))
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	resp, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
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
