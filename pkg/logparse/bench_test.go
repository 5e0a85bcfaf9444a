package logparse

import (
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

func BenchmarkParse(b *testing.B) {
	lines := []struct{ name, line string }{
		{"tutorial", "[01/Feb/2024 14:46:21] 192.168.1.20 veronica08 accessed file 'concern.html'"},
		{"auth", "Dec 10 07:13:43 LabSZ sshd[24227]: Failed password for root from 5.36.59.76 port 42393 ssh2"},
		{"syslog", "Nov 23 23:59:01 web1 CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)"},
		{"combined", `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"`},
		{"raw", "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating"},
		{"ras", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS KERNEL FATAL data TLB error interrupt"},
		{"json", `{"level":"error","ts":1700000000.1,"caller":"x/y.go:1","msg":"db down","attempt":3}`},
		{"nolevel", "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component alt0 is in the unavailable state (HWID=1973)"},
	}
	p := New(Options{Now: func() time.Time { return ref }})
	for _, l := range lines {
		// fresh: a new event per line, as a consumer decoding into new messages does.
		b.Run(l.name+"/fresh", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ev := &logwardenpb.LogEvent{}
				p.Parse(l.line, ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		// reused: the event, its timestamp and fields map are recycled.
		b.Run(l.name+"/reused", func(b *testing.B) {
			b.ReportAllocs()
			ev := &logwardenpb.LogEvent{}
			for b.Loop() {
				clear(ev.Fields)
				p.Parse(l.line, ev)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
