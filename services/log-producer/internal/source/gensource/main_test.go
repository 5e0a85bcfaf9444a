//go:build !integration

// goleak only without the integration tag: kafka-go keeps idle connection goroutines of
// its shared transports (used by kafkax helpers) after the tests end.

package gensource

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
