//go:build integration

package kafkax_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/kafkatest"
	"github.com/logwarden/logwarden/pkg/kafkax"
)

const benchMsgSize = 1024

func benchMessages(topic string, n int) []kafkax.Message {
	value := make([]byte, benchMsgSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	msgs := make([]kafkax.Message, n)
	for i := range msgs {
		msgs[i] = kafkax.Message{Topic: topic, Key: []byte(fmt.Sprintf("entity-%d", i%997)), Value: value}
	}
	return msgs
}

// BenchmarkWriter: synchronous acks=all writes of 1 KiB messages, 1000 per call.
func BenchmarkWriter(b *testing.B) {
	for _, parts := range []int{1, 6} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			cfg := kafkatest.Config(b)
			topic := kafkatest.NewTopic(b, cfg, parts)
			w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			const chunk = 1000
			msgs := benchMessages(topic, chunk)
			ctx := context.Background()
			b.SetBytes(benchMsgSize)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; done += chunk {
				n := min(chunk, b.N-done)
				if err := w.Write(ctx, msgs[:n]...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkConsumer: a group member reading pre-filled 1 KiB messages through Run and
// committing every batch.
func BenchmarkConsumer(b *testing.B) {
	for _, parts := range []int{1, 6} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			cfg := kafkatest.Config(b)
			topic := kafkatest.NewTopic(b, cfg, parts)
			w, err := kafkax.NewWriter(cfg, kafkax.DefaultWriterConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			const chunk = 1000
			msgs := benchMessages(topic, chunk)
			for done := 0; done < b.N; done += chunk {
				if err := w.Write(context.Background(), msgs[:min(chunk, b.N-done)]...); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()
			cc := kafkax.DefaultConsumerConfig(kafkatest.UniqueName("bench"), topic)
			c, err := kafkax.NewConsumer(cfg, cc, nil, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			b.SetBytes(benchMsgSize)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			got := 0
			err = c.Run(ctx, func(_ context.Context, batch []kafkax.Message) ([]kafkax.Message, error) {
				got += len(batch)
				if got >= b.N {
					cancel()
				}
				return nil, nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(got)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
