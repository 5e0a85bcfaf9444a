// Command log-producer reads log lines from its sources and publishes them to Kafka.
//
//	log-producer [run]      the service: generator, file tail, stdin, HTTP ingest → logs.raw
//	log-producer generate   a labelled evaluation dataset on disk, no Kafka
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
		fmt.Fprintln(os.Stderr, "log-producer:", err)
		os.Exit(1)
	}
}

const usage = `usage: log-producer [command] [flags]

commands:
  run       read the configured sources, publish to logs.raw (default)
  generate  write a labelled dataset (lines.log, labels.jsonl, meta.json) for anomaly-classifier eval

"log-producer <command> -h" lists the command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runService(ctx, args, getenv, stdin, stdout, stderr)
	case "generate":
		return runGenerate(ctx, args, getenv, stdin, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
