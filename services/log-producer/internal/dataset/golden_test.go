package dataset

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins a small dataset byte for byte: a change of the generator's output (the
// classifier's evaluation depends on it) shows up as a diff. Refresh with -update.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(context.Background(), Options{Dir: dir, Count: 400, Seed: 1, AnomalyRate: 0.05, Users: 10}, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lines.log", "labels.jsonl", "meta.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "seed1-400", name+".golden")
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run go test -update if the change is intended)", name, golden)
		}
	}
}
