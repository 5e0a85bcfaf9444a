package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func TestFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	st := &logwardenpb.EngineState{Version: 1, Fleet: &logwardenpb.FleetState{Warm: true,
		Templates: []*logwardenpb.MinedTemplate{{Id: "a", Template: "x <*>", Count: 3}}}}
	n, err := WriteFile(path, st)
	if err != nil || n == 0 {
		t.Fatal(n, err)
	}
	got, err := ReadFile(path)
	if err != nil || !proto.Equal(got, st) {
		t.Fatalf("read %v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

func TestReadRejects(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{"other": []byte("hello"), "broken": []byte(Magic + "\xff\xff\xff")} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o600)
		if _, err := ReadFile(p); err == nil || (name == "other" && !errors.Is(err, ErrNotState)) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(&logwardenpb.EngineState{Version: 1, Fleet: &logwardenpb.FleetState{Warm: true}})
	f.Add(b)
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Decode(data)
	})
}
