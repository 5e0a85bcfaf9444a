package main

import (
	"flag"
	"testing"

	"github.com/logwarden/logwarden/pkg/config"
)

var updateEnv = flag.Bool("update", false, "rewrite the generated block of .env.example")

// TestEnvExample keeps the generated block of .env.example equal to every key the
// service reads, with its default and description; -update rewrites the block.
func TestEnvExample(t *testing.T) {
	cfg := defaultConfig()
	body := config.EnvLines(config.Describe(&cfg))
	begin := "# >>> log-producer: every setting (generated from the code; go test ./cmd/log-producer -run TestEnvExample -update)"
	if err := config.SyncBlock("../../../../.env.example", begin, "# <<< log-producer", body, *updateEnv); err != nil {
		t.Fatal(err)
	}
}
