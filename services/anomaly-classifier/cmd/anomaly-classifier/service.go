package main

import (
	"context"
	"errors"
	"io"
)

// runService is a placeholder until the command lands.
func runService(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("service: not available in this build")
}
