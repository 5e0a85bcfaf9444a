package source

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGraceOutlivesItsParent(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	g, cancel := Grace(parent, time.Hour)
	defer cancel()
	cancelParent()
	if g.Err() != nil {
		t.Fatal("grace context ended with its parent")
	}
	cancel()
	if g.Err() == nil {
		t.Fatal("grace context not ended by its cancel")
	}

	parent2, cancelParent2 := context.WithCancel(context.Background())
	g2, cancel2 := Grace(parent2, time.Nanosecond)
	defer cancel2()
	cancelParent2()
	<-g2.Done() // ends shortly after the parent; a hang fails the test by timeout
}
