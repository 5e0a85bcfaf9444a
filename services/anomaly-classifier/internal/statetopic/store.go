package statetopic

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

// Topic is the Kafka side of the store (kafkax.Admin).
type Topic interface {
	Follow(ctx context.Context, topic string, fn func(kafkax.Message), loaded func()) error
	ReadPartitionRange(ctx context.Context, topic string, partition int, from, to int64, fn func(kafkax.Message)) (int, error)
	EndOffsets(ctx context.Context, topic string) (map[int]int64, error)
	MaxMessageBytes(ctx context.Context, topic string) (int, error)
}

// Writer writes records (kafkax.Writer).
type Writer interface {
	Write(ctx context.Context, msgs ...kafkax.Message) error
}

// Fleet is the engine's knowledge of the fleet as the store uses it, always through
// Options.Locked.
type Fleet interface {
	HashKey() []byte
	SetHashKey(key []byte) error
	FleetSnapshot() *logwardenpb.FleetState
	MergeFleet(fs *logwardenpb.FleetState) (engine.Merged, error)
}

// Checkpoint is the state of the users of one partition of the input topic once every
// message of the partition below Offset was handled.
type Checkpoint struct {
	Topic     string
	Partition int
	Offset    int64
	HashKey   []byte
	Users     []*logwardenpb.UserState
	Commands  []*logwardenpb.UserCommands
}

// Partitions are the partitions the service handles, as the store saves them.
type Partitions interface {
	// Checkpoints returns the users of every partition handled since its last save.
	Checkpoints() []Checkpoint
	// Saved records that the users of partition up to offset are in the topic.
	Saved(topic string, partition int, offset int64)
}

// Options configure a Store.
type Options struct {
	Topic string // the state topic
	// Interval between saves (0: only at exit, Save).
	Interval   time.Duration
	Admin      Topic
	Writer     Writer
	Fleet      Fleet
	Partitions Partitions
	// Locked runs fn while no batch is being classified (the engine is not safe for
	// concurrent use).
	Locked func(fn func())
	// Instance names this process in its records ("" : host name, process id and a
	// random part).
	Instance   string
	Log        *zap.Logger
	Registerer prometheus.Registerer // nil: not registered
}

// Store keeps the engine's learnt state in the state topic and shares it with the
// other replicas. Run reads and follows the topic and saves every interval; Save
// saves once more at exit; Users gives a partition's users when it is assigned here.
type Store struct {
	o   Options
	log *zap.Logger
	m   metrics

	mu      sync.Mutex
	index   map[string]entry // latest record of each key
	applied map[int]int64    // partition of the state topic → offset of the last record applied
	meta    []byte           // hash key of the latest meta record
	limit   int              // max.message.bytes of the topic (0: not asked yet)
}

// entry is where the latest record of a key is, and for users records what its
// headers say.
type entry struct {
	partition int
	offset    int64
	validTo   int64 // users: offset of the input partition the users are valid up to
	chunks    int   // users: chunks of that save
}

// New builds a store; o.Topic, Admin, Writer, Fleet, Partitions and Locked are required.
func New(o Options) *Store {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Instance == "" {
		o.Instance = instanceName()
	}
	s := &Store{o: o, log: o.Log, m: newMetrics(o.Registerer), index: map[string]entry{}, applied: map[int]int64{}}
	return s
}

func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Run reads the topic to its end, merging the other replicas' fleet records into the
// engine, makes sure the topic has a meta record (this replica's hash key when it has
// none), calls ready, then keeps following the topic and saves every interval until
// ctx ends. The first read is retried until it succeeds or ctx ends.
func (s *Store) Run(ctx context.Context, ready func()) error {
	start := time.Now()
	loaded := make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.follow(gctx, loaded) })
	g.Go(func() error {
		select {
		case <-loaded:
		case <-gctx.Done():
			return nil
		}
		if err := s.ensureMeta(gctx); err != nil {
			if gctx.Err() != nil {
				return nil
			}
			return err
		}
		took := time.Since(start)
		s.m.loadSeconds.Set(took.Seconds())
		s.log.Info("state loaded from the state topic", zap.String("topic", s.o.Topic), zap.Duration("took", took),
			zap.Float64("bytes", s.m.loadBytes.get()), zap.Int("keys", s.keys()))
		ready()
		if s.o.Interval <= 0 {
			<-gctx.Done()
			return nil
		}
		t := time.NewTicker(s.o.Interval)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				if err := s.save(gctx, true); err != nil && gctx.Err() == nil {
					s.log.Warn("saving the state to the state topic failed; the previous save stays", zap.Error(err))
				}
			}
		}
	})
	return g.Wait()
}

// follow keeps the topic followed until ctx ends, reading it again from the start
// after a failure (merges are idempotent). loaded is closed once the topic was first
// read to its end.
func (s *Store) follow(ctx context.Context, loaded chan struct{}) error {
	var once sync.Once
	done := func() { once.Do(func() { close(loaded) }) }
	for {
		err := s.o.Admin.Follow(ctx, s.o.Topic, s.apply, done)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Error("reading the state topic failed; reading it again", zap.String("topic", s.o.Topic), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// apply takes one record of the topic.
func (s *Store) apply(m kafkax.Message) {
	s.m.loadBytes.add(len(m.Key) + len(m.Value))
	defer func() {
		s.mu.Lock()
		s.applied[m.Partition] = m.Offset
		s.mu.Unlock()
	}()
	name := string(m.Key)
	k := parseKey(name)
	if len(m.Value) == 0 {
		s.mu.Lock()
		delete(s.index, name)
		s.mu.Unlock()
		s.m.read.WithLabelValues("tombstone").Inc()
		return
	}
	switch k.kind {
	case "users":
		validTo, verr := strconv.ParseInt(m.Header(HeaderOffset), 10, 64)
		chunks, cerr := strconv.Atoi(m.Header(HeaderChunks))
		if verr != nil || cerr != nil || chunks < 1 || chunks > maxShards {
			s.invalid(m, errors.New("users record without valid lw-state-offset and lw-state-chunks headers"))
			return
		}
		s.mu.Lock()
		s.index[name] = entry{partition: m.Partition, offset: m.Offset, validTo: validTo, chunks: chunks}
		s.mu.Unlock()
		s.m.read.WithLabelValues("users").Inc()
	case "fleet":
		s.mu.Lock()
		s.index[name] = entry{partition: m.Partition, offset: m.Offset}
		s.mu.Unlock()
		if m.Header(HeaderWriter) == s.o.Instance {
			s.m.read.WithLabelValues("own").Inc() // this view is in the engine already
			return
		}
		rec, err := decode(m)
		if err == nil && rec.GetFleet().GetFleet() == nil {
			err = errors.New("fleet record without a fleet shard")
		}
		if err != nil {
			s.invalid(m, err)
			return
		}
		var merged engine.Merged
		s.o.Locked(func() { merged, err = s.o.Fleet.MergeFleet(rec.GetFleet().GetFleet()) })
		if err != nil {
			s.log.Warn("parts of a fleet record skipped", zap.Stringer("record", m), zap.String("writer", rec.GetWriter()), zap.Error(err))
		}
		s.m.read.WithLabelValues("fleet").Inc()
		s.m.merged(merged)
	case KeyMeta:
		rec, err := decode(m)
		key := rec.GetMeta().GetHashKey()
		if err == nil && (len(key) == 0 || len(key) > 64) {
			err = fmt.Errorf("meta record with a hash key of %d bytes", len(key))
		}
		if err != nil {
			s.invalid(m, err)
			return
		}
		s.m.read.WithLabelValues("meta").Inc()
		s.mu.Lock()
		s.meta = bytes.Clone(key)
		s.mu.Unlock()
		changed := false
		s.o.Locked(func() {
			changed = !bytes.Equal(key, s.o.Fleet.HashKey())
			err = s.o.Fleet.SetHashKey(key)
		})
		if changed {
			s.log.Info("hash key of the fleet taken from the state topic", zap.String("writer", rec.GetWriter()))
		}
	default:
		s.invalid(m, errors.New("unknown key"))
	}
}

func (s *Store) invalid(m kafkax.Message, err error) {
	s.m.read.WithLabelValues("invalid").Inc()
	s.log.Warn("state record skipped", zap.Stringer("record", m), zap.String("key", clip(string(m.Key))), zap.Error(err))
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (s *Store) keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.index)
}

// ensureMeta writes this replica's hash key as the meta record when the topic has
// none, then reads the topic to its end: when replicas start at once, each takes the
// key of the meta record written last.
func (s *Store) ensureMeta(ctx context.Context) error {
	s.mu.Lock()
	have := s.meta != nil
	s.mu.Unlock()
	if have {
		return nil
	}
	var key []byte
	s.o.Locked(func() { key = s.o.Fleet.HashKey() })
	m, err := newRecord(s.o.Topic, KeyMeta, &logwardenpb.StateRecord{Version: engine.StateVersion, SavedAt: stamp(time.Now()), Writer: s.o.Instance,
		Body: &logwardenpb.StateRecord_Meta{Meta: &logwardenpb.StateMeta{HashKey: key}}})
	if err != nil {
		return err
	}
	if err := s.o.Writer.Write(ctx, m); err != nil {
		return fmt.Errorf("write the meta record to %s: %w", s.o.Topic, err)
	}
	s.m.written.WithLabelValues("meta").Inc()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return s.catchUp(wctx)
}

// catchUp waits until every record written to the topic before the call was applied.
func (s *Store) catchUp(ctx context.Context) error {
	ends, err := s.o.Admin.EndOffsets(ctx, s.o.Topic)
	if err != nil {
		return err
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		behind := 0
		for p, end := range ends {
			if a, ok := s.applied[p]; end > 0 && (!ok || a < end-1) {
				behind++
			}
		}
		s.mu.Unlock()
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("catching up with %s: %d partitions behind: %w", s.o.Topic, behind, ctx.Err())
		case <-t.C:
		}
	}
}

// catchUpWait bounds the wait for the topic's latest records before a save.
const catchUpWait = 10 * time.Second

// Save writes the engine's view of the fleet and the users of the partitions handled
// since their last save, without waiting for the other replicas' latest records (at
// exit: the topic is no longer followed).
func (s *Store) Save(ctx context.Context) error { return s.save(ctx, false) }

// save writes the fleet's shards (and tombstones for shards of an earlier, larger
// save) and each partition's users, in one write. With catchUp it first applies what
// the other replicas wrote, so this replica's view, which replaces theirs, holds it.
// A partition whose users another replica saved at a later offset has moved: it is not
// written.
func (s *Store) save(ctx context.Context, catchUp bool) error {
	start := time.Now()
	err := s.write(ctx, catchUp)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	s.m.saves.WithLabelValues(outcome).Inc()
	s.m.saveSeconds.Observe(time.Since(start).Seconds())
	return err
}

func (s *Store) write(ctx context.Context, catchUp bool) error {
	if catchUp {
		cctx, cancel := context.WithTimeout(ctx, catchUpWait)
		err := s.catchUp(cctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("saving without the latest records of the state topic", zap.Error(err))
		}
	}
	limit, err := s.recordLimit(ctx)
	if err != nil {
		return err
	}
	var fs *logwardenpb.FleetState
	s.o.Locked(func() { fs = s.o.Fleet.FleetSnapshot() })
	cps := s.o.Partitions.Checkpoints()
	now := time.Now()
	rec := func(body any) *logwardenpb.StateRecord {
		r := &logwardenpb.StateRecord{Version: engine.StateVersion, SavedAt: stamp(now), Writer: s.o.Instance}
		switch b := body.(type) {
		case *logwardenpb.FleetShard:
			r.Body = &logwardenpb.StateRecord_Fleet{Fleet: b}
		case *logwardenpb.PartitionUsers:
			r.Body = &logwardenpb.StateRecord_Users{Users: b}
		}
		return r
	}
	shards, err := splitFleet(fs, budget(limit))
	if err != nil {
		return err
	}
	var msgs []kafkax.Message
	kinds := map[string]int{}
	for i, sh := range shards {
		m, err := newRecord(s.o.Topic, FleetKey(i), rec(&logwardenpb.FleetShard{Shard: uint32(i), Shards: uint32(len(shards)), Fleet: sh}))
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
		kinds["fleet"]++
	}
	s.mu.Lock()
	for name := range s.index { // shards of an earlier save with more of them
		if k := parseKey(name); k.kind == "fleet" && k.n >= len(shards) {
			msgs = append(msgs, kafkax.Message{Topic: s.o.Topic, Key: []byte(name)})
			kinds["tombstone"]++
		}
	}
	s.mu.Unlock()
	var saved []Checkpoint
	for _, cp := range cps {
		s.mu.Lock()
		e, ok := s.index[UsersKey(cp.Topic, cp.Partition, 0)]
		s.mu.Unlock()
		if ok && e.validTo > cp.Offset {
			s.m.written.WithLabelValues("users_moved").Inc()
			s.log.Info("users not saved: another replica saved the partition at a later offset",
				zap.String("topic", cp.Topic), zap.Int("partition", cp.Partition), zap.Int64("offset", cp.Offset), zap.Int64("saved", e.validTo))
			continue
		}
		chunks, err := splitUsers(cp.Users, cp.Commands, budget(limit))
		if err != nil {
			return fmt.Errorf("users of %s/%d: %w", cp.Topic, cp.Partition, err)
		}
		hdr := []kafkax.Header{{Key: HeaderOffset, Value: []byte(strconv.FormatInt(cp.Offset, 10))}, {Key: HeaderChunks, Value: []byte(strconv.Itoa(len(chunks)))}}
		for i, c := range chunks {
			c.Topic, c.Partition, c.Offset, c.Chunk, c.Chunks, c.HashKey = cp.Topic, int32(cp.Partition), cp.Offset, uint32(i), uint32(len(chunks)), cp.HashKey
			m, err := newRecord(s.o.Topic, UsersKey(cp.Topic, cp.Partition, i), rec(c), hdr...)
			if err != nil {
				return err
			}
			msgs = append(msgs, m)
			kinds["users"]++
		}
		s.mu.Lock()
		for name := range s.index {
			if k := parseKey(name); k.kind == "users" && k.topic == cp.Topic && k.partition == cp.Partition && k.n >= len(chunks) {
				msgs = append(msgs, kafkax.Message{Topic: s.o.Topic, Key: []byte(name)})
				kinds["tombstone"]++
			}
		}
		s.mu.Unlock()
		saved = append(saved, cp)
	}
	size := 0
	for _, m := range msgs {
		size += len(m.Key) + len(m.Value)
	}
	if err := s.o.Writer.Write(ctx, msgs...); err != nil {
		return fmt.Errorf("write %d records (%d bytes) to %s: %w", len(msgs), size, s.o.Topic, err)
	}
	for _, cp := range saved {
		s.o.Partitions.Saved(cp.Topic, cp.Partition, cp.Offset)
	}
	for k, n := range kinds {
		s.m.written.WithLabelValues(k).Add(float64(n))
	}
	s.m.saveBytes.Set(float64(size))
	s.log.Debug("state saved to the state topic", zap.Int("fleet_shards", len(shards)), zap.Int("partitions", len(saved)), zap.Int("bytes", size))
	return nil
}

// recordLimit is the topic's max.message.bytes (asked once).
func (s *Store) recordLimit(ctx context.Context) (int, error) {
	s.mu.Lock()
	limit := s.limit
	s.mu.Unlock()
	if limit > 0 {
		return limit, nil
	}
	limit, err := s.o.Admin.MaxMessageBytes(ctx, s.o.Topic)
	if err != nil {
		return 0, err
	}
	if limit < 16<<10 {
		return 0, fmt.Errorf("max.message.bytes of %s is %d: too small for state records (at least 16 KiB)", s.o.Topic, limit)
	}
	s.mu.Lock()
	s.limit = limit
	s.mu.Unlock()
	return limit, nil
}

// Users returns the users of partition of topic as last saved to the state topic, and
// whether there is a complete save (every chunk of it). An error means the topic could
// not be read.
func (s *Store) Users(ctx context.Context, topic string, partition int) (*Checkpoint, bool, error) {
	s.mu.Lock()
	e0, ok := s.index[UsersKey(topic, partition, 0)]
	want := map[int]map[int64]bool{} // state partition → offsets
	complete := ok
	for n := 0; ok && n < e0.chunks; n++ {
		e, has := s.index[UsersKey(topic, partition, n)]
		if !has || e.validTo != e0.validTo || e.chunks != e0.chunks {
			complete = false
			break
		}
		if want[e.partition] == nil {
			want[e.partition] = map[int64]bool{}
		}
		want[e.partition][e.offset] = true
	}
	s.mu.Unlock()
	switch {
	case !ok:
		s.m.restores.WithLabelValues("none").Inc()
		return nil, false, nil
	case !complete:
		s.m.restores.WithLabelValues("incomplete").Inc()
		return nil, false, nil
	}
	cp := &Checkpoint{Topic: topic, Partition: partition, Offset: e0.validTo}
	chunks := 0
	var bad error
	for p, offs := range want {
		from, to := int64(-1), int64(0)
		for o := range offs {
			if from < 0 || o < from {
				from = o
			}
			to = max(to, o+1)
		}
		_, err := s.o.Admin.ReadPartitionRange(ctx, s.o.Topic, p, from, to, func(m kafkax.Message) {
			if !offs[m.Offset] || bad != nil {
				return
			}
			rec, err := decode(m)
			pu := rec.GetUsers()
			switch {
			case err != nil:
				bad = err
			case pu == nil || pu.GetTopic() != topic || int(pu.GetPartition()) != partition || pu.GetOffset() != e0.validTo:
				bad = fmt.Errorf("record %s does not hold the users of %s/%d at %d", m, topic, partition, e0.validTo)
			default:
				if cp.HashKey == nil {
					cp.HashKey = pu.GetHashKey()
				}
				cp.Users = append(cp.Users, pu.GetUsers()...)
				cp.Commands = append(cp.Commands, pu.GetCommands()...)
				chunks++
			}
		})
		if err != nil {
			s.m.restores.WithLabelValues("error").Inc()
			return nil, false, fmt.Errorf("read the users of %s/%d from %s: %w", topic, partition, s.o.Topic, err)
		}
	}
	if bad != nil {
		s.m.restores.WithLabelValues("invalid").Inc()
		return nil, false, bad
	}
	if chunks != e0.chunks { // compacted away by a newer save meanwhile
		s.m.restores.WithLabelValues("incomplete").Inc()
		return nil, false, nil
	}
	s.m.restores.WithLabelValues("found").Inc()
	return cp, true, nil
}
