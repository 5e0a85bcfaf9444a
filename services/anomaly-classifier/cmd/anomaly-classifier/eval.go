package main

import (
	"context"
	"errors"
	"io"
)

// runEval is a placeholder until the command lands.
func runEval(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("eval: not available in this build")
}
