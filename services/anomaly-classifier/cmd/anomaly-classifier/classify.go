package main

import (
	"context"
	"errors"
	"io"
)

// runClassify is a placeholder until the command lands.
func runClassify(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("classify: not available in this build")
}
