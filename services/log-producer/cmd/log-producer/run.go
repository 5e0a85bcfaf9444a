package main

import (
	"context"
	"io"
)

// run is the whole program: `generate …` writes a dataset, anything else (or `run …`)
// starts the service.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "generate" {
		return generate(ctx, args[1:], stderr)
	}
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	return serve(ctx, args, getenv, stdin, stdout, stderr)
}
