//go:build !integration

// goleak only without the integration tag: kafka-go keeps idle connection goroutines of
// its shared transports after the integration tests end.

package ingest

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
