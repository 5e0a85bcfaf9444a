package k8s

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the overlays")

// TestOverlayGolden pins the full rendering of each overlay, so that a change to the
// base shows up in review as the YAML that will reach the cluster. After an intended
// change: go test -run TestOverlayGolden -update.
func TestOverlayGolden(t *testing.T) {
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			dir, err := filepath.Abs(filepath.Join("overlays", o))
			if err != nil {
				t.Fatal(err)
			}
			rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rm.AsYaml()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", o+".golden.yaml")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("kustomize build overlays/%s differs from %s; if intended, run go test -run TestOverlayGolden -update and review the diff", o, golden)
			}
		})
	}
}
