// Command log-producer reads log lines from its sources (generator, file tail, stdin, HTTP
// ingest), parses them and publishes LogEvent protobufs to Kafka (logs.raw). With the
// generate subcommand it writes a labelled evaluation dataset instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/logwarden/logwarden/pkg/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, errHelp) || errors.Is(err, config.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "log-producer:", err)
		os.Exit(1)
	}
}
