package offline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
)

// LogScore is the outcome of running the engine over one log file without the
// generator's labels: how much it flags and how many alerts it raises, and, when a
// labels file sits beside the log, the line-level confusion counts.
type LogScore struct {
	Name           string
	Lines, Flagged int
	Alerts         int
	ByRule         map[string]int // alerts per detector/rule
	Labelled       bool
	TP, FP, FN, TN int
}

// FlaggedShare is the share of lines flagged anomalous.
func (s LogScore) FlaggedShare() float64 { return ratio(s.Flagged, s.Lines) }

// AlertsPer10k is the alerts raised per 10,000 lines.
func (s LogScore) AlertsPer10k() float64 { return 1e4 * ratio(s.Alerts, s.Lines) }

// F1 of the flagged lines against the labels.
func (s LogScore) F1() float64 {
	if 2*s.TP+s.FP+s.FN == 0 {
		return 0
	}
	return 2 * float64(s.TP) / float64(2*s.TP+s.FP+s.FN)
}

// LabelsFile is where the line labels of a log file are looked for: FILE.labels
// beside FILE.log, one 0 or 1 per line.
func LabelsFile(log string) string { return strings.TrimSuffix(log, filepath.Ext(log)) + ".labels" }

// EvalLog classifies the lines of file with eng (a fresh engine per file: each log
// is its own system) and scores it.
func EvalLog(ctx context.Context, eng *engine.Engine, file string) (LogScore, error) {
	s := LogScore{Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), ByRule: map[string]int{}}
	var labels []bool
	if data, err := os.ReadFile(LabelsFile(file)); err == nil {
		for i, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			switch strings.TrimSpace(l) {
			case "0":
				labels = append(labels, false)
			case "1":
				labels = append(labels, true)
			default:
				return s, fmt.Errorf("%s:%d: want 0 or 1", LabelsFile(file), i+1)
			}
		}
		s.Labelled = true
	}
	f, err := os.Open(file)
	if err != nil {
		return s, err
	}
	defer f.Close()
	err = run(ctx, eng, bufio.NewReaderSize(f, 256<<10), nil, func(n int, res engine.Result) {
		s.Lines++
		flagged := res.Verdict.GetAnomalous()
		if flagged {
			s.Flagged++
		}
		for _, a := range res.Alerts {
			s.Alerts++
			if len(a.GetFindings()) > 0 {
				s.ByRule[a.GetFindings()[0].GetDetector()+"/"+a.GetFindings()[0].GetRuleId()]++
			}
		}
		if s.Labelled && n <= len(labels) {
			switch {
			case labels[n-1] && flagged:
				s.TP++
			case labels[n-1]:
				s.FN++
			case flagged:
				s.FP++
			default:
				s.TN++
			}
		}
	}, func(int, *logwardenpb.Verdict) error { return nil })
	if err != nil {
		return s, err
	}
	if s.Labelled && len(labels) != s.Lines {
		return s, fmt.Errorf("%s: %d labels for %d lines", LabelsFile(file), len(labels), s.Lines)
	}
	return s, nil
}

// LogFiles lists the logs to evaluate under path: the file itself, or every *.log
// in the directory and its subdirectories, sorted.
func LogFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".log") {
			files = append(files, p)
		}
		return err
	})
	sort.Strings(files)
	return files, err
}

// ReportLogs prints one row per log and a total.
func ReportLogs(w io.Writer, scores []LogScore) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "log\tlines\tflagged\tflagged %\talerts\talerts/10k lines\tF1 (labelled)\ttop alerts")
	var tot LogScore
	for _, s := range scores {
		f1 := "-"
		if s.Labelled {
			f1 = fmt.Sprintf("%.4f (TP %d FP %d FN %d)", s.F1(), s.TP, s.FP, s.FN)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%d\t%.1f\t%s\t%s\n", s.Name, s.Lines, s.Flagged, 100*s.FlaggedShare(), s.Alerts, s.AlertsPer10k(), f1, top(s.ByRule, 3))
		tot.Lines += s.Lines
		tot.Flagged += s.Flagged
		tot.Alerts += s.Alerts
	}
	if len(scores) > 1 {
		fmt.Fprintf(tw, "total\t%d\t%d\t%.2f\t%d\t%.1f\t\t\n", tot.Lines, tot.Flagged, 100*tot.FlaggedShare(), tot.Alerts, tot.AlertsPer10k())
	}
	tw.Flush()
}

func top(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var xs []kv
	for k, v := range m {
		xs = append(xs, kv{k, v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].v > xs[j].v || (xs[i].v == xs[j].v && xs[i].k < xs[j].k) })
	var parts []string
	for i, x := range xs {
		if i == n {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}
