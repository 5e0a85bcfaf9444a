package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// learn on known-good lines, then classify with the state: a fatal pattern that was
// in the known-good logs is baseline; without the state it is new and anomalous.
func TestLearnThenClassify(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.log")
	lines := "2026-01-05 10:00:00,000 INFO [main] started\n2026-01-05 10:00:01,000 FATAL [disk] controller reset on sda\n"
	if err := os.WriteFile(good, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "state")
	noenv := func(string) string { return "" }
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"learn", "--in", good, "--state", st}, noenv, nil, &out, &errb); err != nil {
		t.Fatalf("learn: %v (%s)", err, errb.String())
	}
	if !strings.HasPrefix(out.String(), "learnt 2 lines: 2 templates") {
		t.Fatalf("learn said %q", out.String())
	}
	probe := "2026-01-06 09:00:00,000 FATAL [disk] controller reset on sdb\n"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"classify"}, `"anomalous":true`},
		{[]string{"classify", "--state", st}, `"anomalous":false`},
	} {
		out.Reset()
		if err := run(context.Background(), c.args, noenv, strings.NewReader(probe), &out, &errb); err != nil {
			t.Fatalf("%v: %v (%s)", c.args, err, errb.String())
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("%v: %s, want %s", c.args, out.String(), c.want)
		}
	}
	// a file that is not a state is refused with its name
	if err := run(context.Background(), []string{"classify", "--state", good}, noenv, strings.NewReader(probe), &out, &errb); err == nil || !strings.Contains(err.Error(), good) {
		t.Fatalf("classify with a bad state file: %v", err)
	}
	if err := run(context.Background(), []string{"learn", "--in", good}, noenv, nil, &out, &errb); err == nil {
		t.Fatal("learn without --state succeeded")
	}
}
