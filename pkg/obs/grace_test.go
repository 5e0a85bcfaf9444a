package obs_test

import (
	"context"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/obs"
)

func TestGraceContext(t *testing.T) {
	t.Run("outlives its parent by grace", func(t *testing.T) {
		parent, stop := context.WithCancel(context.Background())
		ctx, cancel := obs.GraceContext(parent, 50*time.Millisecond)
		defer cancel()
		stop()
		if ctx.Err() != nil {
			t.Fatal("cancelled with its parent, want the grace period first")
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("not cancelled after the grace period")
		}
	})
	t.Run("lives while the parent does", func(t *testing.T) {
		ctx, cancel := obs.GraceContext(context.Background(), time.Nanosecond)
		select {
		case <-ctx.Done():
			t.Fatal("cancelled while its parent lives")
		case <-time.After(20 * time.Millisecond):
		}
		cancel()
		if ctx.Err() == nil {
			t.Fatal("cancel did not cancel it")
		}
	})
	t.Run("cancel during the grace period", func(t *testing.T) {
		parent, stop := context.WithCancel(context.Background())
		ctx, cancel := obs.GraceContext(parent, time.Hour)
		stop()
		cancel()
		if ctx.Err() == nil {
			t.Fatal("cancel did not end the grace period")
		}
	})
	t.Run("keeps the parent's values", func(t *testing.T) {
		type key struct{}
		ctx, cancel := obs.GraceContext(context.WithValue(context.Background(), key{}, "v"), time.Second)
		defer cancel()
		if ctx.Value(key{}) != "v" {
			t.Fatal("value lost")
		}
	})
}
