// Command anomaly-classifier flags suspicious log lines and patterns across lines.
//
//	anomaly-classifier [run]      the Kafka service: logs.raw → logs.verdicts, alerts
//	anomaly-classifier classify   the same engine offline: lines in, one JSON verdict per line out
//	anomaly-classifier eval       precision, recall and F1 on a labelled dataset
//	anomaly-classifier learn      known-good logs in, a state file out (the engine's baseline)
//	anomaly-classifier templates  one template id per input line
//	anomaly-classifier rules      check (lint) Sigma rules or run their examples
//	anomaly-classifier feedback   list or revoke the patterns people marked "not an issue"
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/logwarden/logwarden/pkg/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, config.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "anomaly-classifier:", err)
		os.Exit(1)
	}
}

const usage = `usage: anomaly-classifier [command] [flags]

commands:
  run        consume logs.raw, write verdicts and alerts (default)
  classify   classify lines offline: one JSON verdict per input line
  eval       score the engine on a labelled dataset, or on log files
  eval corpus  recall per ATT&CK technique and admin false positives on the labelled command corpus
  learn      learn known-good logs into a state file (classify --state, state_file)
  templates  print the template id of every input line
  feedback   list | revoke: the patterns people marked "not an issue" (Slack button)
  rules      check DIR: lint Sigma rules; test DIR: run the rules' examples

"anomaly-classifier <command> -h" lists the command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runService(ctx, args, getenv, stdin, stdout, stderr)
	case "classify":
		return runClassify(ctx, args, getenv, stdin, stdout, stderr)
	case "eval":
		if len(args) > 0 && args[0] == "corpus" {
			return runCorpusEval(ctx, args[1:], getenv, stdin, stdout, stderr)
		}
		return runEval(ctx, args, getenv, stdin, stdout, stderr)
	case "rules":
		return runRules(ctx, args, getenv, stdin, stdout, stderr)
	case "learn":
		return runLearn(ctx, args, getenv, stdin, stdout, stderr)
	case "templates":
		return runTemplates(ctx, args, getenv, stdin, stdout, stderr)
	case "feedback":
		return runFeedback(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
