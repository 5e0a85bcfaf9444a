package main

import (
	"context"
	"errors"
	"io"
)

// runTemplates is a placeholder until the command lands.
func runTemplates(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("templates: not available in this build")
}
