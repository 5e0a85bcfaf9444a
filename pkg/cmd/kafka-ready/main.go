// Command kafka-ready exits 0 once a Kafka broker answers a metadata request and knows
// its controller; scripts/kafka/kafka.sh polls it after starting the local broker.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kafka-ready:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kafka-ready", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "broker address")
	timeout := fs.Duration("timeout", 2*time.Second, "time allowed for one check")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := (&kafka.Dialer{Timeout: *timeout}).DialContext(ctx, "tcp", *brokers)
	if err != nil {
		return fmt.Errorf("dial %s: %w", *brokers, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(*timeout))
	bs, err := conn.Brokers()
	if err != nil {
		return fmt.Errorf("metadata from %s: %w", *brokers, err)
	}
	if len(bs) == 0 {
		return fmt.Errorf("metadata from %s lists no broker yet", *brokers)
	}
	if _, err := conn.Controller(); err != nil {
		return fmt.Errorf("controller from %s: %w", *brokers, err)
	}
	return nil
}
