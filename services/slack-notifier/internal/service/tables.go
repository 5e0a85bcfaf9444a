package service

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/clock"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

// SilencesTopic is the spec of the silences topic: a compacted table keyed by silence
// id, one partition (a few records a day; one partition keeps them in one order).
func SilencesTopic(name string) kafkax.TopicSpec {
	return kafkax.TopicSpec{Name: name, Partitions: 1, ReplicationFactor: 1, Compact: true}
}

// Follower reads a topic as a table (kafkax.Admin.Follow).
type Follower interface {
	Follow(ctx context.Context, topic string, fn func(kafkax.Message), loaded func()) error
}

// follow keeps topic followed into apply until ctx ends, starting over after a failure
// (the records come again from the start: apply is idempotent). loaded is closed once
// the topic was first read to its end.
func follow(ctx context.Context, f Follower, topic string, apply func(kafkax.Message), loaded chan struct{},
	clk clock.Clock, delay time.Duration, log *zap.Logger) error {
	var once sync.Once
	done := func() { once.Do(func() { close(loaded) }) }
	for {
		err := f.Follow(ctx, topic, apply, done)
		if ctx.Err() != nil {
			return nil
		}
		log.Error("reading a table topic failed; reading it again", zap.String("topic", topic), zap.Duration("in", delay), zap.Error(err))
		if clock.Sleep(ctx, clk, delay) != nil {
			return nil
		}
	}
}

// waitLoaded waits until every channel is closed or ctx ends.
func waitLoaded(ctx context.Context, loaded ...chan struct{}) error {
	for _, l := range loaded {
		select {
		case <-l:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// isLoaded reports whether every channel is closed.
func isLoaded(loaded ...chan struct{}) bool {
	for _, l := range loaded {
		select {
		case <-l:
		default:
			return false
		}
	}
	return true
}
