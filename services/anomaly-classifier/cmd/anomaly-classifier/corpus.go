package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/corpus"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigmarules"
)

// runCorpusEval is `anomaly-classifier eval corpus`: the rules on the labelled command
// corpus, held-out half first. A command is flagged when a rule finding of level
// medium or higher fires on it (what makes an event anomalous on its own); each command
// runs as its own user so correlations never join two of them.
func runCorpusEval(_ context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval corpus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("rules-dir", "", "directory of extra Sigma rules (as RULES_DIR)")
	verbose := fs.Bool("v", false, "list missed attack commands and flagged admin commands of the tune half")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pack, err := sigmarules.Load(*dir)
	if err != nil {
		return err
	}
	d := sigmarules.New(pack, "", 1000)
	n := 0
	flagged := func(cmd string) bool {
		n++
		ev, err := sigmarules.CaseEvent(sigmarules.TestCase{"command": cmd, "user": fmt.Sprintf("user%d", n)})
		if err != nil {
			return false
		}
		for _, r := range d.DetectLog(ev, time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)) {
			if r.Finding.GetScore() >= 0.5 {
				return true
			}
		}
		return false
	}
	for _, split := range []string{"heldout", "tune"} {
		s := corpus.Evaluate(split, flagged)
		fmt.Fprintf(stdout, "== %s half\n", split)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "technique\tflagged\trecall")
		for _, t := range s.PerTechnique {
			fmt.Fprintf(tw, "%s\t%d/%d\t%.2f\n", t.Technique, t.Flagged, t.Total, float64(t.Flagged)/float64(t.Total))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "attack recall %d/%d = %.3f; admin commands flagged %d/%d = %.1f%%\n\n",
			s.Detected, s.Attacks, s.Recall(), s.AdminFlagged, s.Admin, 100*s.AdminShare())
		if *verbose && split == "tune" {
			for _, e := range s.Missed {
				fmt.Fprintf(stdout, "missed %s: %s\n", e.Technique, e.Command)
			}
			for _, e := range s.FalseAlarms {
				fmt.Fprintf(stdout, "flagged admin: %s\n", e.Command)
			}
		}
	}
	return nil
}
