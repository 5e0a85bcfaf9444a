package offline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

// Label is one line of labels.jsonl.
type Label struct {
	Line       int    `json:"line"`
	Anomalous  bool   `json:"anomalous"`
	Scenario   string `json:"scenario"`
	IncidentID string `json:"incident_id"`
	Entity     string `json:"entity"`
}

// LineLevel lists the scenarios scored per line (single-line anomalies); every
// other scenario is scored per incident (detected when any of its lines is flagged).
var lineLevel = map[string]bool{"sensitive_file": true, "dangerous_command": true}

// ScenarioScore is the detection of one scenario.
type ScenarioScore struct {
	Scenario     string
	Unit         string // "line" or "incident"
	Units        int
	Detected     int
	Lines        int
	LinesFlagged int
}

// Recall of the scenario's units.
func (s ScenarioScore) Recall() float64 { return ratio(s.Detected, s.Units) }

// Score is the outcome of an evaluation.
type Score struct {
	Lines, Normal, Anomalous int
	Alerts                   int // alerts the engine raised (before the LLM stage)
	TP, FP, FN, TN           int // line level confusion counts
	Units, Detected          int // scoring units (lines of single-line scenarios, incidents of the others)
	Scenarios                []ScenarioScore
}

// Precision is the share of flagged lines that are anomalous.
func (s Score) Precision() float64 { return ratio(s.TP, s.TP+s.FP) }

// Recall is the share of scoring units detected.
func (s Score) Recall() float64 { return ratio(s.Detected, s.Units) }

// F1 is the harmonic mean of Precision and Recall.
func (s Score) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// FalseAlarmsPer10k is the flagged normal lines per 10 000 normal lines.
func (s Score) FalseAlarmsPer10k() float64 { return 1e4 * ratio(s.FP, s.Normal) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ReadLabels reads DIR/labels.jsonl.
func ReadLabels(path string) ([]Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Label
	sc := newScanner(f)
	for sc.Scan() {
		var l Label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, len(out)+1, err)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// ScoreFlags scores flagged[i] (line i+1) against labels.
func ScoreFlags(labels []Label, flagged []bool) Score {
	s := Score{Lines: len(labels)}
	type inc struct {
		scenario string
		hit      bool
	}
	incidents := map[string]*inc{}
	per := map[string]*ScenarioScore{}
	for i, l := range labels {
		f := i < len(flagged) && flagged[i]
		if !l.Anomalous {
			s.Normal++
			if f {
				s.FP++
			} else {
				s.TN++
			}
			continue
		}
		s.Anomalous++
		if f {
			s.TP++
		} else {
			s.FN++
		}
		sc := per[l.Scenario]
		if sc == nil {
			sc = &ScenarioScore{Scenario: l.Scenario, Unit: "incident"}
			if lineLevel[l.Scenario] {
				sc.Unit = "line"
			}
			per[l.Scenario] = sc
		}
		sc.Lines++
		if f {
			sc.LinesFlagged++
		}
		if sc.Unit == "line" {
			sc.Units++
			if f {
				sc.Detected++
			}
			continue
		}
		id := l.IncidentID
		if id == "" {
			id = fmt.Sprintf("line-%d", i+1)
		}
		in := incidents[id]
		if in == nil {
			in = &inc{scenario: l.Scenario}
			incidents[id] = in
			sc.Units++
		}
		if f && !in.hit {
			in.hit = true
			sc.Detected++
		}
	}
	for _, sc := range per {
		s.Units += sc.Units
		s.Detected += sc.Detected
		s.Scenarios = append(s.Scenarios, *sc)
	}
	sort.Slice(s.Scenarios, func(i, j int) bool { return s.Scenarios[i].Scenario < s.Scenarios[j].Scenario })
	return s
}

// EvalResult is the outcome of Eval: without the LLM stage and, when it ran, with it.
type EvalResult struct {
	Base    Score
	WithLLM *Score
}

// Eval classifies DIR/lines.log and scores it against DIR/labels.jsonl.
// progress (may be nil) is called every 10 000 lines.
func Eval(ctx context.Context, eng *engine.Engine, dir string, stage Stage, progress func(lines int)) (EvalResult, error) {
	labels, err := ReadLabels(filepath.Join(dir, "labels.jsonl"))
	if err != nil {
		return EvalResult{}, fmt.Errorf("labels: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, "lines.log"))
	if err != nil {
		return EvalResult{}, fmt.Errorf("lines: %w", err)
	}
	defer f.Close()
	base := make([]bool, 0, len(labels))
	after := make([]bool, 0, len(labels))
	alerts := 0
	err = run(ctx, eng, bufio.NewReaderSize(f, 256<<10), stage, func(n int, res engine.Result) {
		alerts += len(res.Alerts)
		base = append(base, res.Verdict.GetAnomalous())
		if progress != nil && n%10000 == 0 {
			progress(n)
		}
	}, func(n int, v *logwardenpb.Verdict) error {
		after = append(after, v.GetAnomalous())
		return nil
	})
	if err != nil {
		return EvalResult{}, err
	}
	if len(base) != len(labels) {
		return EvalResult{}, fmt.Errorf("%d lines but %d labels", len(base), len(labels))
	}
	res := EvalResult{Base: ScoreFlags(labels, base)}
	res.Base.Alerts = alerts
	if stage != nil {
		s := ScoreFlags(labels, after)
		res.WithLLM = &s
	}
	return res, nil
}

// Report prints a score.
func Report(w io.Writer, s Score) {
	fmt.Fprintf(w, "lines %d (normal %d, anomalous %d)\n", s.Lines, s.Normal, s.Anomalous)
	fmt.Fprintf(w, "confusion (lines): TP %d  FP %d  FN %d  TN %d\n", s.TP, s.FP, s.FN, s.TN)
	fmt.Fprintf(w, "precision %.4f (flagged lines that are anomalous)\n", s.Precision())
	fmt.Fprintf(w, "recall    %.4f (%d/%d units: lines of single-line scenarios, incidents of pattern scenarios; an incident is detected when any of its lines is flagged)\n", s.Recall(), s.Detected, s.Units)
	fmt.Fprintf(w, "F1        %.4f\n", s.F1())
	fmt.Fprintf(w, "false alarms per 10k normal lines: %.2f\n", s.FalseAlarmsPer10k())
	fmt.Fprintf(w, "alerts %d (%.1f per 10k lines)\n\n", s.Alerts, 1e4*ratio(s.Alerts, s.Lines))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tunit\tunits\tdetected\trecall\tlines flagged")
	for _, sc := range s.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.4f\t%d/%d\n", sc.Scenario, sc.Unit, sc.Units, sc.Detected, sc.Recall(), sc.LinesFlagged, sc.Lines)
	}
	tw.Flush()
}
