package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// fileID identifies a file across renames (device and inode).
type fileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// position is where reading of one file resumes.
type position struct {
	Path   string `json:"path"`
	ID     fileID `json:"id"`
	Offset int64  `json:"offset"`
}

type stateFile struct {
	Version int        `json:"version"`
	Files   []position `json:"files"`
}

// loadState reads the state file; a missing file is an empty state.
func loadState(path string) (map[string]position, error) {
	out := map[string]position{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("file.state_path: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("file.state_path: %s is not a tail state file: %w", path, err)
	}
	for _, p := range st.Files {
		out[p.Path] = p
	}
	return out, nil
}

// saveState writes the state atomically (temporary file, fsync, rename).
func saveState(path string, files map[string]position) error {
	if path == "" {
		return nil
	}
	st := stateFile{Version: 1}
	for _, p := range files {
		st.Files = append(st.Files, p)
	}
	sort.Slice(st.Files, func(i, j int) bool { return st.Files[i].Path < st.Files[j].Path })
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save tail state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save tail state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save tail state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save tail state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save tail state: %w", err)
	}
	return nil
}
