package engine

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// One event dated 9999, then 3,000 failed logins of 30 KB each from the same
// address: the engine must not keep them (it used to keep every one, ~90 MB).
func TestFarFutureEventDoesNotPinMemory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		received bool // the service path (received_at set) or an offline file
	}{{"service", true}, {"offline", false}} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			recv := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
			mk := func(at time.Time, raw string) *logwardenpb.LogEvent {
				ev := &logwardenpb.LogEvent{User: "root", Ip: "203.0.113.9", Action: "login_failed", Raw: raw, Time: timestamppb.New(at)}
				if tc.received {
					ev.ReceivedAt = timestamppb.New(recv)
				}
				return ev
			}
			first := eng.Process(mk(time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC), "Failed password for root from 203.0.113.9"))
			if tc.received && first.Verdict.GetEvent().GetFields()[FieldTimeClamped] == "" {
				t.Fatalf("far-future time not flagged: %v", first.Verdict)
			}
			before := heapAlloc()
			for i := 0; i < 3000; i++ {
				eng.Process(mk(recv.Add(time.Duration(i)*time.Second), "Failed password for root from 203.0.113.9 "+strings.Repeat("x", 30<<10)))
			}
			grown := int64(heapAlloc()) - int64(before)
			runtime.KeepAlive(eng)
			t.Logf("heap growth after 3,000 × 30 KB events following a 9999 event: %.1f MB", float64(grown)/1e6)
			if grown > 16<<20 {
				t.Fatalf("heap grew by %.1f MB: the engine keeps the events", float64(grown)/1e6)
			}
		})
	}
}

func TestEventTimeClamped(t *testing.T) {
	eng, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	recv := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		at      time.Time
		want    time.Time
		clamped bool
	}{
		{"in range", recv.Add(-time.Hour), recv.Add(-time.Hour), false},
		{"year 9999", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), recv.Add(24 * time.Hour), true},
		{"epoch 0", time.Unix(0, 0), recv.Add(-366 * 24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{Raw: "x", Time: timestamppb.New(tt.at), ReceivedAt: timestamppb.New(recv)}
			res := eng.Process(ev)
			got := res.Verdict.GetEvent().GetTime().AsTime()
			_, flagged := ev.GetFields()[FieldTimeClamped]
			var finding bool
			for _, f := range res.Verdict.GetFindings() {
				finding = finding || f.GetRuleId() == "event-time-clamped"
			}
			if !got.Equal(tt.want) || flagged != tt.clamped || finding != tt.clamped || res.Verdict.GetAnomalous() {
				t.Fatalf("time %v flagged %v finding %v anomalous %v; want %v %v", got, flagged, finding, res.Verdict.GetAnomalous(), tt.want, tt.clamped)
			}
		})
	}
}
