package main

import (
	"testing"

	"github.com/logwarden/logwarden/pkg/config"
)

// TestEnvExample keeps the generated block of .env.example equal to every key the
// service reads, with its default and description; -update rewrites the block.
func TestEnvExample(t *testing.T) {
	cfg := DefaultConfig()
	body := config.EnvLines(config.Describe(&cfg))
	begin := "# >>> anomaly-classifier: every setting (generated from the code; go test ./cmd/anomaly-classifier -run TestEnvExample -update)"
	if err := config.SyncBlock("../../../../.env.example", begin, "# <<< anomaly-classifier", body, *update); err != nil {
		t.Fatal(err)
	}
}
