// Package state reads and writes the engine's learnt state (logwardenpb.EngineState)
// as a file: the STATE_FILE of the service and of `anomaly-classifier learn`,
// `classify --state` and `eval --state`.
//
// Format: the 8 bytes "LWSTATE\n", then the protobuf encoding of EngineState (its
// version field says which engine can read it). Writes go to a temporary file in the
// same directory, synced, then renamed over the old one, so a crash leaves either
// the old or the new state, never half of one.
package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Magic starts every state file.
const Magic = "LWSTATE\n"

// MaxBytes bounds a state file read (about 1.5 million templates or users).
const MaxBytes = 1 << 30

// ErrNotState is returned for a file that does not start with Magic.
var ErrNotState = errors.New("not a logwarden state file")

// Encode returns the file form of st.
func Encode(st *logwardenpb.EngineState) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return nil, err
	}
	return append([]byte(Magic), b...), nil
}

// Decode reads the file form of a state.
func Decode(data []byte) (*logwardenpb.EngineState, error) {
	if !bytes.HasPrefix(data, []byte(Magic)) {
		return nil, ErrNotState
	}
	st := &logwardenpb.EngineState{}
	if err := proto.Unmarshal(data[len(Magic):], st); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return st, nil
}

// WriteFile writes st to path atomically and returns the bytes written.
func WriteFile(path string, st *logwardenpb.EngineState) (int, error) {
	data, err := Encode(st)
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, fmt.Errorf("state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("state %s: %w", path, err)
	}
	return len(data), nil
}

// ReadFile reads the state at path.
func ReadFile(path string) (*logwardenpb.EngineState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if fi.Size() > MaxBytes {
		return nil, fmt.Errorf("state %s: %d bytes, at most %d", path, fi.Size(), MaxBytes)
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	st, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return st, nil
}
