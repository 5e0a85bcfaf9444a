package offline

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update):\n%s", path, got)
	}
}

func TestClassifyGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/input.log")
	if err != nil {
		t.Fatal(err)
	}
	var outs [2]bytes.Buffer
	for i := range outs { // twice: the output is deterministic
		eng, err := engine.New(engine.DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Classify(context.Background(), eng, bytes.NewReader(in), &outs[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Fatal("two runs differ")
	}
	if n := strings.Count(outs[0].String(), "\n"); n != bytes.Count(in, []byte("\n")) {
		t.Fatalf("%d output lines", n)
	}
	golden(t, "classify.golden", outs[0].Bytes())
}

func TestTemplatesGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/input.log")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Templates(context.Background(), template.DefaultConfig(), bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	golden(t, "templates.golden", out.Bytes())
}

func TestScoreFlags(t *testing.T) {
	labels := []Label{
		{Line: 1},
		{Line: 2, Anomalous: true, Scenario: "sensitive_file", IncidentID: "i1"},
		{Line: 3, Anomalous: true, Scenario: "brute_force", IncidentID: "i2"},
		{Line: 4, Anomalous: true, Scenario: "brute_force", IncidentID: "i2"},
		{Line: 5, Anomalous: true, Scenario: "brute_force", IncidentID: "i3"},
		{Line: 6},
		{Line: 7, Anomalous: true, Scenario: "dangerous_command", IncidentID: "i4"},
	}
	flagged := []bool{true, true, false, true, false, false, false}
	s := ScoreFlags(labels, flagged)
	if s.TP != 2 || s.FP != 1 || s.FN != 3 || s.TN != 1 {
		t.Fatalf("confusion %+v", s)
	}
	// units: line 2 (detected), incident i2 (detected via line 4), i3 (missed), line 7 (missed)
	if s.Units != 4 || s.Detected != 2 {
		t.Fatalf("units %d detected %d", s.Units, s.Detected)
	}
	if p := s.Precision(); p != 2.0/3 {
		t.Fatalf("precision %v", p)
	}
	if f := s.F1(); f < 0.571 || f > 0.572 {
		t.Fatalf("F1 %v", f)
	}
	if s.FalseAlarmsPer10k() != 5000 {
		t.Fatalf("false alarms %v", s.FalseAlarmsPer10k())
	}
}
