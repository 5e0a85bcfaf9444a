package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteIsCompleteAndReproducible(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	opts := Options{Count: 5000, Seed: 42, AnomalyRate: 0.02, Users: 20}
	opts.Dir = dirA
	var calls int
	meta, err := Write(context.Background(), opts, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir = dirB
	if _, err := Write(context.Background(), opts, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"lines.log", "labels.jsonl", "meta.json"} {
		a, _ := os.ReadFile(filepath.Join(dirA, name))
		b, _ := os.ReadFile(filepath.Join(dirB, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs with the same seed (or is empty)", name)
		}
	}
	if calls == 0 {
		t.Fatal("progress never called")
	}

	lines := readLines(t, filepath.Join(dirA, "lines.log"))
	labelLines := readLines(t, filepath.Join(dirA, "labels.jsonl"))
	if len(lines) != 5000 || len(labelLines) != 5000 {
		t.Fatalf("%d lines, %d labels, want 5000 each", len(lines), len(labelLines))
	}
	anomalous := 0
	scenarios := map[string]int{}
	for i, raw := range labelLines {
		var l Label
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("label %d %q: %v", i+1, raw, err)
		}
		if l.Line != i+1 || l.Entity == "" || !strings.Contains(lines[i], " "+l.Entity+" ") {
			t.Fatalf("label %d = %+v does not match line %q", i+1, l, lines[i])
		}
		if l.Anomalous != (l.Scenario != "") || l.Anomalous != (l.IncidentID != "") {
			t.Fatalf("label %d = %+v: anomalous, scenario and incident_id disagree", i+1, l)
		}
		if l.Anomalous {
			anomalous++
			scenarios[l.Scenario]++
		}
	}
	if meta.AnomalousLines != anomalous || meta.Count != 5000 || meta.Seed != 42 || meta.Users != 20 {
		t.Fatalf("meta %+v, labels count %d anomalous", meta, anomalous)
	}
	for _, s := range meta.Scenarios {
		if s.Lines != scenarios[s.Scenario] {
			t.Fatalf("meta says %d %s lines, labels %d", s.Lines, s.Scenario, scenarios[s.Scenario])
		}
	}
	var onDisk Meta
	b, _ := os.ReadFile(filepath.Join(dirA, "meta.json"))
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.AnomalousLines != anomalous {
		t.Fatalf("meta.json = %s (%v)", b, err)
	}
}

func TestWriteRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no dir", Options{Count: 1}, "out"},
		{"no count", Options{Dir: t.TempDir()}, "count"},
		{"bad scenario", Options{Dir: t.TempDir(), Count: 1, Scenarios: []string{"x"}}, "scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Write(context.Background(), tt.opts, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBar(t *testing.T) {
	var b bytes.Buffer
	Bar(&b)(50, 200)
	if got := b.String(); got != "\r[#######.......................]  25% 50/200" {
		t.Fatalf("bar = %q", got)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
