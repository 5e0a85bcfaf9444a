package obs

import (
	"context"
	"time"
)

// GraceContext returns a context that outlives parent by grace: work already started when
// parent ends (a batch being handled and written, a request in flight) gets that long to
// finish, then it is cancelled too. A shutdown therefore neither abandons a write Kafka may
// still acknowledge (and repeats it after the restart) nor waits forever. cancel releases
// it early; call it when the work is done.
func GraceContext(parent context.Context, grace time.Duration) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancelCtx := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancelCtx)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() {
		stop()
		cancelCtx()
	}
}
