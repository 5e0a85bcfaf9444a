// Command slack-notifier turns alerts into grouped, escaped chat messages.
//
//	slack-notifier [run]   the Kafka service: alerts → Slack (or webhook, Teams, stdout)
//	slack-notifier render  print the Slack payload of one protojson Alert read from stdin
//	slack-notifier test    send one test alert to the configured destination
//	slack-notifier silence add|list|expire   manage silences (as amtool does)
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
		fmt.Fprintln(os.Stderr, "slack-notifier:", err)
		os.Exit(1)
	}
}

const usage = `usage: slack-notifier [command] [flags]

commands:
  run     consume alerts and post grouped notifications (default)
  render  read one Alert as protojson on stdin, print the Slack payload (no config needed;
          --buttons: the bot's message with its buttons)
  test    send one test alert to the configured destination and print the answer
  silence add|list|expire   mute alerts by rule, entity, host, severity ("silence" for help)

"slack-notifier <command> -h" lists the command's flags.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runService(ctx, args, getenv, stdout, stderr)
	case "render":
		return runRender(args, stdin, stdout)
	case "test":
		return runTest(ctx, args, getenv, stdout, stderr)
	case "silence":
		return runSilence(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
