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

func TestReadPartitionRange(t *testing.T) {
	cfg := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, cfg, 1)
	produce(t, cfg, topic, 0, 100)
	admin := kafkatest.Admin(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		from, to int64
		want     []int
	}{
		{10, 30, seq(10, 30)},
		{-5, 3, seq(0, 3)}, // below the first offset: from the first
		{99, 100, seq(99, 100)},
		{50, 50, nil},
		{60, 40, nil},
	}
	for _, tt := range tests {
		var got []string
		n, err := admin.ReadPartitionRange(ctx, topic, 0, tt.from, tt.to, func(m kafkax.Message) {
			got = append(got, string(m.Value))
		})
		if err != nil {
			t.Fatalf("[%d, %d): %v", tt.from, tt.to, err)
		}
		if n != len(tt.want) || len(got) != len(tt.want) {
			t.Fatalf("[%d, %d): read %d (%d calls), want %d", tt.from, tt.to, n, len(got), len(tt.want))
		}
		for i, w := range tt.want {
			if got[i] != fmt.Sprintf("m-%d", w) {
				t.Fatalf("[%d, %d): message %d is %s, want m-%d", tt.from, tt.to, i, got[i], w)
			}
		}
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
