package service

import (
	"context"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/statetopic"
)

// SavedUsers gives the users of a partition of the input topic as last saved to the
// state topic (statetopic.Store).
type SavedUsers interface {
	Users(ctx context.Context, topic string, partition int) (*statetopic.Checkpoint, bool, error)
}

// restore puts the users of m's partition saved in the state topic into the engine
// when the save is newer than what the instance has (after offset known; -1: nothing),
// then replays the partition's messages from the save's offset up to m. The replay
// reads at most replay_events messages: those before the save's offset only rebuild
// the rules' windows, and a save older than that is taken as it is, the messages
// between it and the replay lost to the baselines. It reports whether the users were
// restored.
func (h *Handler) restore(ctx context.Context, m kafkax.Message, known int64) bool {
	if h.users == nil {
		return false
	}
	cp, ok, err := h.users.Users(ctx, m.Topic, m.Partition)
	if err != nil {
		h.log.Warn("reading a partition's saved users failed", zap.String("topic", m.Topic), zap.Int("partition", m.Partition), zap.Error(err))
		return false
	}
	if !ok || cp.Offset <= known {
		return false
	}
	if err := h.eng.RestoreUsers(cp.HashKey, cp.Users, cp.Commands); err != nil {
		h.log.Warn("a partition's saved users are invalid", zap.String("topic", m.Topic), zap.Int("partition", m.Partition), zap.Error(err))
		return false
	}
	h.log.Info("restored a partition's users from the state topic", zap.String("topic", m.Topic), zap.Int("partition", m.Partition),
		zap.Int("users", len(cp.Users)), zap.Int64("saved_at_offset", cp.Offset), zap.Int64("offset", m.Offset))
	st := h.parts[partition{m.Topic, m.Partition}]
	st.saved = max(st.saved, cp.Offset)
	if h.replayFn == nil || h.replayEvents <= 0 {
		return true
	}
	from := max(0, known, m.Offset-h.replayEvents)
	h.replay(ctx, m, from, max(from, min(cp.Offset, m.Offset)))
	return true
}

// Checkpoints implements statetopic.Partitions: the users of every partition handled
// since its last save, taken between batches.
func (h *Handler) Checkpoints() []statetopic.Checkpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []statetopic.Checkpoint
	key := h.eng.HashKey()
	for k, st := range h.parts {
		if st.next <= st.saved {
			continue
		}
		users, cmds := h.eng.PartitionUsers(int32(k.part))
		out = append(out, statetopic.Checkpoint{Topic: k.topic, Partition: k.part, Offset: st.next, HashKey: key, Users: users, Commands: cmds})
	}
	return out
}

// Saved implements statetopic.Partitions.
func (h *Handler) Saved(topic string, part int, offset int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st := h.parts[partition{topic, part}]; st != nil {
		st.saved = max(st.saved, offset)
	}
}
