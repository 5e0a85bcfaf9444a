//go:build !integration

// goleak only without the integration tag: kafka-go keeps idle connection
// goroutines of its shared transport alive after the integration tests.
package service

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
