package main

import (
	"context"
	"errors"
	"io"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}
