package obs

import (
	"runtime/debug"
	"testing"
)

func TestServiceGCUnlessGOGCIsSet(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	ServiceGC(func(k string) string {
		if k == "GOGC" {
			return "50" // the runtime applied it at start
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: GC percent %d, want it left at 100", got)
	}
	ServiceGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != ServiceGCPercent {
		t.Errorf("without GOGC: GC percent %d, want %d", got, ServiceGCPercent)
	}
}
