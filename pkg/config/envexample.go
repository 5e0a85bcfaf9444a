package config

import (
	"fmt"
	"os"
	"strings"
)

// EnvLines renders keys as commented-out .env lines, each key's description above its
// NAME=default line, for .env.example.
func EnvLines(keys []Key) string {
	var b strings.Builder
	for _, k := range keys {
		desc := k.Desc
		if k.Secret {
			desc += "; or " + k.FileEnv() + " = a file holding it"
		}
		fmt.Fprintf(&b, "# (%s)\n# %s=%s\n", desc, k.Env, k.Default)
	}
	return b.String()
}

// SyncBlock compares the lines between the marker lines begin and end of the file at path
// with body. When they differ it rewrites the block if update is set, else it returns an
// error naming the file; tests use it to keep generated parts of docs in step with code.
func SyncBlock(path, begin, end, body string, update bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i := strings.Index(s, begin+"\n")
	j := strings.Index(s, end+"\n")
	if i < 0 || j < i {
		return fmt.Errorf("%s: marker lines %q … %q not found", path, begin, end)
	}
	from := i + len(begin) + 1
	if s[from:j] == body {
		return nil
	}
	if !update {
		return fmt.Errorf("%s: the block after %q is stale; rerun the test with -update", path, begin)
	}
	return os.WriteFile(path, []byte(s[:from]+body+s[j:]), 0o644)
}
