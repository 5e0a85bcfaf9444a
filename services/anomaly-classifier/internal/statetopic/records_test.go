package statetopic

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		in   string
		want key
	}{
		{"meta", key{kind: "meta"}},
		{"fleet/0", key{kind: "fleet"}},
		{"fleet/17", key{kind: "fleet", n: 17}},
		{UsersKey("logs.raw", 3, 2), key{kind: "users", topic: "logs.raw", partition: 3, n: 2}},
		{"users/a/b/c/1/0", key{kind: "users", topic: "a/b/c", partition: 1}},
		{"fleet/-1", key{}},
		{"fleet/x", key{}},
		{"fleet/4096", key{}},
		{"users/1/2", key{}},
		{"users//1/2", key{}},
		{"users/t/-1/0", key{}},
		{"metadata", key{}},
		{"", key{}},
	} {
		if got := parseKey(c.in); got != c.want {
			t.Errorf("parseKey(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// bigFleet is a fleet state of n templates with history and rates, n executables and
// hosts, n hashed pairs and shapes, and n networks.
func bigFleet(n int) *logwardenpb.FleetState {
	fs := &logwardenpb.FleetState{HashKey: []byte("k"), Warm: true, Events: 7, Start: 3, RateHour: 490000, StatsEvents: 9,
		Networks: map[string]string{}, RateTotal: &logwardenpb.TemplateRate{Seasonal: make([]float32, 24), Days: make([]byte, 24)}}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%016x", i*7919)
		fs.Templates = append(fs.Templates, &logwardenpb.MinedTemplate{Id: id, Template: strings.Repeat(fmt.Sprintf("word%d ", i), 8) + "<*>", Count: int64(i + 1)})
		fs.Known = append(fs.Known, &logwardenpb.TemplateKnowledge{Id: id, Count: int64(i), First: 1, Hours: []int32{1, 2}})
		fs.Rates = append(fs.Rates, &logwardenpb.TemplateRate{Id: id, Seasonal: make([]float32, 24), Days: make([]byte, 24), Template: "t"})
		fs.Executables = append(fs.Executables, &logwardenpb.NamedCount{Name: fmt.Sprint("exe", i), Count: 1})
		fs.Hosts = append(fs.Hosts, &logwardenpb.NamedCount{Name: fmt.Sprint("host", i), Count: 1})
		fs.RarePairs = append(fs.RarePairs, &logwardenpb.HashedCount{Hash: uint64(i) * 0x9e3779b97f4a7c15, Count: 1})
		fs.Shapes = append(fs.Shapes, uint64(i)*0x9e3779b97f4a7c15)
		fs.ErrorHosts = append(fs.ErrorHosts, &logwardenpb.HostErrors{Host: fmt.Sprint("host", i)})
		fs.Networks[fmt.Sprintf("10.%d.0.0/16", i)] = fmt.Sprint("user", i)
	}
	return fs
}

// Each shard fits the record budget, the shards together hold exactly what the state
// held, the counters are in every shard, and an id always lands in the same shard.
func TestSplitFleet(t *testing.T) {
	fs := bigFleet(20000)
	const limit = 256 << 10
	shards, err := splitFleet(fs, budget(limit))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(shards); n < 2 || n&(n-1) != 0 {
		t.Fatalf("%d shards, want a power of two above 1", n)
	}
	union := &logwardenpb.FleetState{Networks: map[string]string{}}
	for i, sh := range shards {
		rec := &logwardenpb.StateRecord{Version: 1, Writer: strings.Repeat("w", 100), Body: &logwardenpb.StateRecord_Fleet{Fleet: &logwardenpb.FleetShard{Shard: uint32(i), Shards: uint32(len(shards)), Fleet: sh}}}
		if size := proto.Size(rec); size > budget(limit) {
			t.Fatalf("shard %d: %d bytes, budget %d", i, size, budget(limit))
		}
		if !sh.Warm || sh.Events != 7 || sh.RateHour != 490000 || sh.StatsEvents != 9 || string(sh.HashKey) != "k" {
			t.Fatalf("shard %d lacks the counters", i)
		}
		for _, tm := range sh.Templates {
			if shardOf(tm.Id, len(shards)) != i {
				t.Fatalf("template %s in shard %d", tm.Id, i)
			}
		}
		union.Templates = append(union.Templates, sh.Templates...)
		union.Known = append(union.Known, sh.Known...)
		union.Rates = append(union.Rates, sh.Rates...)
		union.Executables = append(union.Executables, sh.Executables...)
		union.Hosts = append(union.Hosts, sh.Hosts...)
		union.RarePairs = append(union.RarePairs, sh.RarePairs...)
		union.Shapes = append(union.Shapes, sh.Shapes...)
		union.ErrorHosts = append(union.ErrorHosts, sh.ErrorHosts...)
		for k, v := range sh.Networks {
			union.Networks[k] = v
		}
	}
	for name, got := range map[string][2]int{
		"templates": {len(union.Templates), len(fs.Templates)}, "known": {len(union.Known), len(fs.Known)}, "rates": {len(union.Rates), len(fs.Rates)},
		"executables": {len(union.Executables), len(fs.Executables)}, "hosts": {len(union.Hosts), len(fs.Hosts)},
		"pairs": {len(union.RarePairs), len(fs.RarePairs)}, "shapes": {len(union.Shapes), len(fs.Shapes)},
		"error hosts": {len(union.ErrorHosts), len(fs.ErrorHosts)}, "networks": {len(union.Networks), len(fs.Networks)},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d in the shards, %d in the state", name, got[0], got[1])
		}
	}
	// a small state is one shard
	if small, err := splitFleet(bigFleet(10), budget(limit)); err != nil || len(small) != 1 {
		t.Fatalf("small state: %d shards, %v", len(small), err)
	}
}

func TestSplitUsers(t *testing.T) {
	var users []*logwardenpb.UserState
	var cmds []*logwardenpb.UserCommands
	for i := 0; i < 5000; i++ {
		u := fmt.Sprint("user", i)
		users = append(users, &logwardenpb.UserState{User: u, Hours: make([]int32, 24), Addresses: []string{"10.0.0.1", "10.0.0.2"}, Directories: []uint64{1, 2, 3, 4}})
		cmds = append(cmds, &logwardenpb.UserCommands{User: u, Usual: []*logwardenpb.NamedCount{{Name: "git", Count: 3}}})
	}
	const limit = 64 << 10
	chunks, err := splitUsers(users, cmds, budget(limit))
	if err != nil {
		t.Fatal(err)
	}
	nu, nc := 0, 0
	for i, c := range chunks {
		c.Topic, c.Partition, c.Offset, c.Chunk, c.Chunks, c.HashKey = strings.Repeat("t", 249), 1<<30, 1<<62, uint32(i), uint32(len(chunks)), make([]byte, 64)
		rec := &logwardenpb.StateRecord{Version: 1, Writer: strings.Repeat("w", 100), Body: &logwardenpb.StateRecord_Users{Users: c}}
		if size := proto.Size(rec); size > budget(limit) {
			t.Fatalf("chunk %d: %d bytes, budget %d", i, size, budget(limit))
		}
		for j, u := range c.Users { // a user's baseline and commands in the same chunk
			if shardOf(u.User, len(chunks)) != i || c.Commands[j].User != u.User {
				t.Fatalf("user %s in chunk %d", u.User, i)
			}
		}
		nu, nc = nu+len(c.Users), nc+len(c.Commands)
	}
	if nu != len(users) || nc != len(cmds) || len(chunks) < 2 {
		t.Fatalf("%d chunks holding %d users, %d command histories", len(chunks), nu, nc)
	}
	if _, err := splitUsers([]*logwardenpb.UserState{{User: strings.Repeat("x", 70<<10)}}, nil, budget(limit)); !errors.Is(err, errTooLarge) {
		t.Fatalf("a user larger than a record: %v", err)
	}
}
