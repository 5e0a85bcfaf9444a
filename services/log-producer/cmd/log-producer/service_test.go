package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/config"
)

func noEnv(string) string { return "" }

func TestGenerateWritesADataset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"generate", "--out", dir, "--count", "2000", "--seed", "5", "--anomaly-rate", "0.02"},
		noEnv, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatal(err, stderr.String())
	}
	for _, f := range []string{"lines.log", "labels.jsonl", "meta.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// Not a terminal: no progress bar, one summary line.
	if got := stderr.String(); !strings.HasPrefix(got, "wrote 2000 lines (") || strings.Count(got, "\n") != 1 || strings.Contains(got, "\r") {
		t.Fatalf("stderr = %q", got)
	}
}

func TestGenerateArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"generate"}, "--out is required"},
		{"bad rate", []string{"generate", "--out", "x", "--anomaly-rate", "2"}, "--anomaly-rate"},
		{"bad scenario", []string{"generate", "--out", "DIR", "--scenarios", "nope"}, `unknown scenario "nope"`},
		{"stray argument", []string{"generate", "--out", "x", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"generate", "--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, a := range tt.args {
				if a == "DIR" {
					tt.args[i] = t.TempDir()
				}
			}
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, noEnv, nil, &bytes.Buffer{}, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"generate", "-h"}, noEnv, nil, &bytes.Buffer{}, &stderr); !errors.Is(err, config.ErrHelp) ||
		!strings.Contains(stderr.String(), "usage: log-producer generate") {
		t.Fatalf("-h: %v, %q", err, stderr.String())
	}
}
