package publish

import (
	"context"
	"time"
)

// Grace returns a context that outlives ctx by grace: work already started when ctx ends
// (a batch being written) gets that long to finish, so a shutdown does not abandon a write
// that Kafka may still acknowledge (kafka-go issue #1427) and then repeat it after a restart.
func Grace(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(gctx, func() { t.Stop() })
	})
	return gctx, func() {
		stop()
		cancel()
	}
}
