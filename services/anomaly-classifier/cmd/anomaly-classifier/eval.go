package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/offline"
)

// runEval scores the engine on a dataset written by "log-producer generate".
func runEval(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadOffline("eval", args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.In == "" {
		return errors.New("eval: --in is required (a directory written by log-producer generate, or log files)")
	}
	if _, err := os.Stat(filepath.Join(cfg.In, "labels.jsonl")); err != nil {
		return evalLogs(ctx, cfg, stdout)
	}
	eng, err := newEngine(cfg)
	if err != nil {
		return err
	}
	st, err := newStage(cfg, stderr)
	if err != nil {
		return err
	}
	var stage offline.Stage
	if st != nil {
		defer st.Close()
		stage = st
	}
	var progress func(int)
	if isTerminal(stderr) {
		progress = func(n int) { fmt.Fprintf(stderr, "\r%d lines", n) }
	}
	res, err := offline.Eval(ctx, eng, cfg.In, stage, progress)
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	offline.Report(stdout, res.Base)
	if res.WithLLM != nil {
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, st.Stats())
		fmt.Fprintf(stdout, "F1 without LLM %.4f, with LLM %.4f\n", res.Base.F1(), res.WithLLM.F1())
	}
	return nil
}

// evalLogs scores every log file under cfg.In (each with a fresh engine): share of
// lines flagged, alerts per 10k lines, and F1 where FILE.labels gives line labels.
func evalLogs(ctx context.Context, cfg *offlineConfig, stdout io.Writer) error {
	files, err := offline.LogFiles(cfg.In)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if len(files) == 0 {
		return fmt.Errorf("eval: no labels.jsonl and no *.log under %s", cfg.In)
	}
	var scores []offline.LogScore
	for _, f := range files {
		eng, err := newEngine(cfg)
		if err != nil {
			return err
		}
		s, err := offline.EvalLog(ctx, eng, f)
		if err != nil {
			return fmt.Errorf("eval %s: %w", f, err)
		}
		scores = append(scores, s)
	}
	offline.ReportLogs(stdout, scores)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
