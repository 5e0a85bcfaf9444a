package service

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/statetopic"
)

type savedUsers map[int]*statetopic.Checkpoint

func (s savedUsers) Users(_ context.Context, topic string, part int) (*statetopic.Checkpoint, bool, error) {
	cp, ok := s[part]
	return cp, ok && cp.Topic == topic, nil
}

// A partition whose users were saved to the state topic starts from them: the replay
// re-learns only the messages after the save, and those before it (within
// replay_events) only rebuild the rules' windows. A partition without a save falls
// back to the replay of its history.
func TestHandleRestoresSavedUsers(t *testing.T) {
	read := func(part int, off int64, user, file string) kafkax.Message {
		m := rec(off, fmt.Sprintf("[24/Nov/2026 09:15:%02d] 10.0.0.7 %s accessed file '%s'", off%60, user, file))
		m.Partition = part
		return m
	}
	// alice's history on partition 4: her users' state saved at offset 41 by the
	// previous owner
	prev := newEngine(t)
	prevH := NewHandler(prev, HandlerOptions{Topics: topics})
	if _, err := prevH.Handle(context.Background(), []kafkax.Message{read(4, 0, "alice", "/srv/app/a.txt")}); err != nil {
		t.Fatal(err)
	}
	cps := prevH.Checkpoints()
	if len(cps) != 1 || cps[0].Offset != 1 || len(cps[0].Users) != 1 {
		t.Fatalf("checkpoints %+v", cps)
	}
	saved := savedUsers{4: {Topic: "logs.raw", Partition: 4, Offset: 41, HashKey: cps[0].HashKey, Users: cps[0].Users, Commands: cps[0].Commands}}
	history := []kafkax.Message{read(4, 39, "alice", "/srv/app/b.txt"), read(4, 40, "alice", "/etc/shadow"), read(4, 41, "alice", "/root/.ssh/id_rsa")}

	var asked [][3]int64
	eng := &primeRecorder{Engine: newEngine(t)}
	h := NewHandler(eng, HandlerOptions{Topics: topics, Metrics: NewMetrics(nil), ReplayEvents: 3, Users: saved,
		Replay: func(_ context.Context, _ string, part int, from, to int64, fn func(kafkax.Message)) (int, error) {
			asked = append(asked, [3]int64{int64(part), from, to})
			n := 0
			for _, m := range history {
				if m.Partition == part && m.Offset >= from && m.Offset < to {
					fn(m)
					n++
				}
			}
			return n, nil
		}})
	outs, err := h.Handle(context.Background(), []kafkax.Message{read(4, 42, "alice", "/home/alice/.aws/credentials"), read(5, 7, "bob", "/srv/x")})
	if err != nil {
		t.Fatal(err)
	}
	// partition 4: the last 3 messages read, 39 and 40 primed (before the save), 41 learnt
	if want := [][3]int64{{4, 39, 42}, {5, 4, 7}}; fmt.Sprint(asked) != fmt.Sprint(want) {
		t.Fatalf("replays asked %v, want %v", asked, want)
	}
	if fmt.Sprint(eng.primed) != "[/srv/app/b.txt /etc/shadow]" {
		t.Fatalf("primed %v, want the messages at offsets 39 and 40", eng.primed)
	}
	burst := false
	for _, a := range byTopic(outs)["a"] {
		var al logwardenpb.Alert
		if err := proto.Unmarshal(a.Value, &al); err != nil {
			t.Fatal(err)
		}
		burst = burst || strings.Contains(al.GetFingerprint(), "sensitive-file-burst")
	}
	if !burst {
		t.Fatal("no burst: the primed messages did not rebuild the rule's window")
	}
	// alice's baseline came from the save: her events there, plus the one learnt after it, plus the live one
	users, _ := eng.PartitionUsers(4)
	if len(users) != 1 || users[0].GetEvents() != 3 || users[0].GetAdopted() {
		t.Fatalf("alice after the restore: %v", users)
	}
	// the next save writes partition 4 from where it is now, and nothing once saved
	cps = h.Checkpoints()
	if len(cps) != 2 {
		t.Fatalf("%d checkpoints, want partitions 4 and 5", len(cps))
	}
	for _, cp := range cps {
		h.Saved(cp.Topic, cp.Partition, cp.Offset)
	}
	if cps := h.Checkpoints(); len(cps) != 0 {
		t.Fatalf("checkpoints after a save: %+v", cps)
	}
}

type primeRecorder struct {
	*engine.Engine
	primed []string // targets of the primed events
}

func (p *primeRecorder) Prime(ev *logwardenpb.LogEvent, part int32) {
	p.primed = append(p.primed, ev.GetTarget())
	p.Engine.Prime(ev, part)
}
