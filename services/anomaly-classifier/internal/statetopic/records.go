package statetopic

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

// Record keys.
const (
	KeyMeta     = "meta"
	fleetPrefix = "fleet/"
	usersPrefix = "users/"
)

// Headers of the state records besides the standard ones: who wrote a record, and for
// users records the offset they are valid up to and their number of chunks (read
// without decoding the record).
const (
	HeaderWriter = "lw-state-writer"
	HeaderOffset = "lw-state-offset"
	HeaderChunks = "lw-state-chunks"
)

// Schema is the lw-schema header of a state record.
var Schema = string((&logwardenpb.StateRecord{}).ProtoReflect().Descriptor().FullName())

// maxShards bounds the fleet shards and the chunks of one partition's users.
const maxShards = 1 << 12

// FleetKey is the key of fleet shard n.
func FleetKey(n int) string { return fleetPrefix + strconv.Itoa(n) }

// UsersKey is the key of chunk n of the users of partition of topic.
func UsersKey(topic string, partition, n int) string {
	return usersPrefix + topic + "/" + strconv.Itoa(partition) + "/" + strconv.Itoa(n)
}

// key is a parsed record key.
type key struct {
	kind      string // "meta", "fleet", "users", "" (unknown)
	topic     string
	partition int
	n         int
}

func parseKey(k string) key {
	switch {
	case k == KeyMeta:
		return key{kind: KeyMeta}
	case strings.HasPrefix(k, fleetPrefix):
		if n, err := strconv.Atoi(k[len(fleetPrefix):]); err == nil && n >= 0 && n < maxShards {
			return key{kind: "fleet", n: n}
		}
	case strings.HasPrefix(k, usersPrefix):
		rest := k[len(usersPrefix):]
		i := strings.LastIndexByte(rest, '/')
		if i <= 0 {
			break
		}
		j := strings.LastIndexByte(rest[:i], '/')
		if j <= 0 {
			break
		}
		p, perr := strconv.Atoi(rest[j+1 : i])
		n, nerr := strconv.Atoi(rest[i+1:])
		if perr == nil && nerr == nil && p >= 0 && n >= 0 && n < maxShards {
			return key{kind: "users", topic: rest[:j], partition: p, n: n}
		}
	}
	return key{}
}

// newRecord encodes rec under k for topic with the standard headers and the writer's.
func newRecord(topic, k string, rec *logwardenpb.StateRecord, extra ...kafkax.Header) (kafkax.Message, error) {
	m, err := kafkax.NewProtoMessage(topic, k, k, rec)
	if err != nil {
		return m, err
	}
	m.Headers = append(m.Headers, kafkax.Header{Key: HeaderWriter, Value: []byte(rec.GetWriter())})
	m.Headers = append(m.Headers, extra...)
	return m, nil
}

// decode reads a state record of this engine's version.
func decode(m kafkax.Message) (*logwardenpb.StateRecord, error) {
	if h := m.Header(kafkax.HeaderSchema); h != "" && h != Schema {
		return nil, fmt.Errorf("lw-schema %.60q, want %s", h, Schema)
	}
	rec := &logwardenpb.StateRecord{}
	if err := proto.Unmarshal(m.Value, rec); err != nil {
		return nil, fmt.Errorf("state record: %w", err)
	}
	if v := rec.GetVersion(); v != engine.StateVersion {
		return nil, fmt.Errorf("state record version %d, this engine reads %d", v, engine.StateVersion)
	}
	return rec, nil
}

// budget is the most bytes a record's value may take for a topic whose
// max.message.bytes is limit: room is left for the record batch, the key and headers.
func budget(limit int) int { return max(limit-4096, limit*7/8) }

// errTooLarge: one item alone does not fit a record.
var errTooLarge = errors.New("one item is larger than a record may be")

// shardOf spreads names over n shards (FNV-1a: the same on every replica, so the same
// template always lands in the same shard).
func shardOf(name string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % uint32(n))
}

// splitFleet splits fs into shards whose records each encode to at most budget bytes:
// a power of two of them, starting from the size estimate. The counters and flags are
// in every shard.
func splitFleet(fs *logwardenpb.FleetState, budget int) ([]*logwardenpb.FleetState, error) {
	n := 1
	for n < maxShards && n*budget/2 < proto.Size(fs) {
		n *= 2
	}
	for ; n <= maxShards; n *= 2 {
		shards := make([]*logwardenpb.FleetState, n)
		for i := range shards {
			shards[i] = &logwardenpb.FleetState{HashKey: fs.GetHashKey(), Warm: fs.GetWarm(), Events: fs.GetEvents(), Start: fs.GetStart(),
				RateHour: fs.GetRateHour(), CommandsSeen: fs.GetCommandsSeen(), CommandsStart: fs.GetCommandsStart(),
				StatsEvents: fs.GetStatsEvents(), RateTotal: fs.GetRateTotal()}
		}
		for _, t := range fs.GetTemplates() {
			s := shards[shardOf(t.GetId(), n)]
			s.Templates = append(s.Templates, t)
		}
		for _, k := range fs.GetKnown() {
			s := shards[shardOf(k.GetId(), n)]
			s.Known = append(s.Known, k)
		}
		for _, r := range fs.GetRates() {
			s := shards[shardOf(r.GetId(), n)]
			s.Rates = append(s.Rates, r)
		}
		for _, h := range fs.GetHosts() {
			s := shards[shardOf(h.GetName(), n)]
			s.Hosts = append(s.Hosts, h)
		}
		for _, p := range fs.GetRarePairs() {
			s := shards[p.GetHash()%uint64(n)]
			s.RarePairs = append(s.RarePairs, p)
		}
		for _, e := range fs.GetExecutables() {
			s := shards[shardOf(e.GetName(), n)]
			s.Executables = append(s.Executables, e)
		}
		for _, k := range fs.GetShapes() {
			s := shards[k%uint64(n)]
			s.Shapes = append(s.Shapes, k)
		}
		for _, e := range fs.GetErrorHosts() {
			s := shards[shardOf(e.GetHost(), n)]
			s.ErrorHosts = append(s.ErrorHosts, e)
		}
		for net, u := range fs.GetNetworks() {
			s := shards[shardOf(net, n)]
			if s.Networks == nil {
				s.Networks = map[string]string{}
			}
			s.Networks[net] = u
		}
		if fits(shards, budget) {
			return shards, nil
		}
	}
	return nil, fmt.Errorf("fleet state of %d bytes in %d shards: %w", proto.Size(fs), maxShards, errTooLarge)
}

// splitUsers splits the users of one partition (and their command histories) into
// chunks whose records each encode to at most budget bytes.
func splitUsers(users []*logwardenpb.UserState, commands []*logwardenpb.UserCommands, budget int) ([]*logwardenpb.PartitionUsers, error) {
	size := 0
	for _, u := range users {
		size += proto.Size(u) + 3
	}
	for _, c := range commands {
		size += proto.Size(c) + 3
	}
	n := 1
	for n < maxShards && n*budget/2 < size {
		n *= 2
	}
	for ; n <= maxShards; n *= 2 {
		chunks := make([]*logwardenpb.PartitionUsers, n)
		for i := range chunks {
			chunks[i] = &logwardenpb.PartitionUsers{}
		}
		for _, u := range users {
			c := chunks[shardOf(u.GetUser(), n)]
			c.Users = append(c.Users, u)
		}
		for _, u := range commands {
			c := chunks[shardOf(u.GetUser(), n)]
			c.Commands = append(c.Commands, u)
		}
		if fits(chunks, budget) {
			return chunks, nil
		}
	}
	return nil, fmt.Errorf("users of %d bytes in %d chunks: %w", size, maxShards, errTooLarge)
}

// recordOverhead bounds what a record adds to its body: version, saved_at, writer,
// the oneof's tag and length, and the body's own header fields (shard numbers; topic
// name, partition, offset, chunk numbers and hash key of a users chunk).
const recordOverhead = 512

// fits reports whether every part, as the body of a record, encodes within budget.
func fits[T proto.Message](parts []T, budget int) bool {
	for _, p := range parts {
		if proto.Size(p)+recordOverhead > budget {
			return false
		}
	}
	return true
}

// stamp is a record's saved_at.
func stamp(now time.Time) *timestamppb.Timestamp { return timestamppb.New(now) }

// TopicSpec is the state topic: compacted (the latest record of each key), one
// partition (records in write order, which the meta record's "latest wins" relies on),
// segments of 16 MiB so that the cleaner compacts a busy topic often and a replica
// reads little more than the latest records at start.
func TopicSpec(name string, replicationFactor int) kafkax.TopicSpec {
	return kafkax.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: replicationFactor, Compact: true,
		Config: map[string]string{"segment.bytes": "16777216"}}
}
