// Command fake-openai serves llmtest's fake OpenAI-compatible model (the
// "sensible" judge, see llmtest.Judge) on a fixed address, so the real
// classifier (`anomaly-classifier eval --llm`, or the service) can be measured
// against it:
//
//	fake-openai --addr 127.0.0.1:18080 &
//	OPENAI_API_KEY=x OPENAI_BASE_URL=http://127.0.0.1:18080/v1 anomaly-classifier eval --in DIR --llm
//
// On SIGINT/SIGTERM it prints the calls and tokens it served and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm/llmtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "fake-openai:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fake-openai", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:18080", "listen address; the base URL is http://ADDR/v1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	return serve(ctx, ln, stdout)
}

// serve proxies ln to a fresh fake model until ctx ends.
func serve(ctx context.Context, ln net.Listener, stdout io.Writer) error {
	fake := llmtest.Start()
	defer fake.Close()
	root, err := url.Parse(fake.Root)
	if err != nil {
		ln.Close()
		return fmt.Errorf("fake server url: %w", err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(root), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "fake-openai: sensible model on http://%s/v1\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc
	in, out := fake.Tokens()
	fmt.Fprintf(stdout, "fake-openai: %d calls, %d prompt tokens, %d completion tokens\n", fake.Calls(), in, out)
	return nil
}
