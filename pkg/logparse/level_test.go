package logparse

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

const (
	lvNone  = logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED
	lvTrace = logwardenpb.LogLevel_LOG_LEVEL_TRACE
	lvDebug = logwardenpb.LogLevel_LOG_LEVEL_DEBUG
	lvInfo  = logwardenpb.LogLevel_LOG_LEVEL_INFO
	lvNote  = logwardenpb.LogLevel_LOG_LEVEL_NOTICE
	lvWarn  = logwardenpb.LogLevel_LOG_LEVEL_WARNING
	lvError = logwardenpb.LogLevel_LOG_LEVEL_ERROR
	lvCrit  = logwardenpb.LogLevel_LOG_LEVEL_CRITICAL
	lvAlert = logwardenpb.LogLevel_LOG_LEVEL_ALERT
	lvEmerg = logwardenpb.LogLevel_LOG_LEVEL_EMERGENCY
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		name, line string
		want       logwardenpb.LogLevel
	}{
		// syslog
		{"PRI err", "<11>Dec 10 06:55:46 web1 app[1]: disk full", lvError},
		{"PRI info", "<14>Dec 10 06:55:46 web1 app[1]: started", lvInfo},
		{"PRI emerg", "<0>Dec 10 06:55:46 web1 kernel: Kernel panic - not syncing", lvEmerg},
		{"PRI of RFC 5424", "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - An application event", lvNote},
		{"message level beats PRI", "<14>Dec 10 06:55:46 web1 app[1]: ERROR [main] db down", lvError},
		{"syslog without level", "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", lvNone},
		{"sshd error prefix", "Dec 10 09:12:32 LabSZ sshd[24490]: error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]", lvError},
		{"sshd fatal prefix", "Dec 10 09:12:32 LabSZ sshd[24490]: fatal: Read from socket failed: Connection reset by peer [preauth]", lvCrit},
		{"word in the message is not a level", "Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 with error code 3 [preauth]", lvNone},
		{"pam failure is not a level", "Dec 10 06:55:48 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186", lvNone},
		// column layouts
		{"BlueGene/L RAS FATAL", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS KERNEL FATAL data TLB error interrupt", lvCrit},
		{"BlueGene/L RAS INFO", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS KERNEL INFO instruction cache parity error corrected", lvInfo},
		{"BlueGene/L FAILURE", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS BGLMASTER FAILURE ciodb exited abnormally due to signal: Aborted", lvCrit},
		{"BlueGene/L SEVERE", "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.363779 R02-M1-N0-C:J12-U11 RAS DISCOVERY SEVERE Problem communicating with service card", lvError},
		{"HDFS", "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating", lvInfo},
		{"HDFS WARN", "081109 214043 2561 WARN dfs.DataNode$DataXceiver: 10.251.30.85:50010:Got exception while serving blk_-2918118818249673980 to /10.251.90.64:", lvWarn},
		{"Spark", "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers for [TERM, HUP, INT]", lvInfo},
		{"Hadoop", "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster for application appattempt_1445144423722_0020_000001", lvInfo},
		{"Zookeeper", "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] - Send worker leaving thread", lvWarn},
		{"log4j bracketed", "2024-01-02 03:04:05.678 [main] ERROR com.example.App - connection refused", lvError},
		{"logback level first", "ERROR 2024-01-02 03:04:05 [pool-1] c.e.Job: failed", lvError},
		{"Python default", "ERROR:root:could not open file", lvError},
		{"Python asctime name level", "2024-01-02 03:04:05,678 - myapp.db - WARNING - slow query", lvWarn},
		{"Python bracketed", "[2024-01-02 03:04:05,678] CRITICAL in app: worker died", lvCrit},
		{"OpenStack", "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO nova.osapi_compute.wsgi.server [req-38101a0b] 10.11.10.1 \"GET /v2 HTTP/1.1\" status: 200", lvInfo},
		{"Windows CBS", "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505", lvInfo},
		{"Windows Error", "2016-09-28 04:30:31, Error                 CSI    00000001@2016/9/27:20:30:31.455 WcpInitialize failed", lvError},
		{"klog error", "E1201 12:34:56.789012   12345 reflector.go:138] failed to list *v1.Pod: Unauthorized", lvError},
		{"klog info", "I0511 08:00:00.000000       1 main.go:42] starting", lvInfo},
		{"Android threadtime", "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs", lvDebug},
		{"Android error", "03-17 16:15:28.207  1702  3061 E AndroidRuntime: FATAL EXCEPTION: main", lvError},
		{"Android brief", "W/ActivityManager(  586): Unable to start service", lvWarn},
		{"Proxifier error", "[10.30 17:00:51] chrome.exe - proxy.cse.cuhk.edu.hk:5070 error : Could not connect through proxy proxy.cse.cuhk.edu.hk:5070 - Proxy server cannot establish a connection with the target, status code 403", lvError},
		{"Proxifier normal", "[10.30 16:49:06] chrome.exe - proxy.cse.cuhk.edu.hk:5070 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS", lvNone},
		{"apache error log", "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", lvError},
		{"apache notice", "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties", lvNote},
		{"go panic", "panic: runtime error: invalid memory address or nil pointer dereference", lvEmerg},
		{"nginx error log", "2024/01/02 03:04:05 [error] 123#0: *1 open() \"/x\" failed (2: No such file or directory)", lvError},
		{"bracketed lowercase warn", "[2024-01-02T03:04:05Z] <warn> cache miss storm", lvWarn},
		// structured
		{"zap JSON", `{"level":"error","ts":1700000000.1,"caller":"x/y.go:1","msg":"db down"}`, lvError},
		{"logrus JSON", `{"level":"warning","msg":"retrying","time":"2024-01-02T03:04:05Z"}`, lvWarn},
		{"slog JSON", `{"time":"2024-01-02T03:04:05Z","level":"ERROR+2","msg":"x"}`, lvError},
		{"bunyan numeric", `{"name":"app","hostname":"h","pid":1,"level":50,"msg":"boom","v":0}`, lvError},
		{"GCP severity", `{"severity":"CRITICAL","message":"x"}`, lvCrit},
		{"ECS log.level nested", `{"@timestamp":"2024-01-02T03:04:05Z","log":{"level":"info"},"message":"x"}`, lvInfo},
		{"JSON level as a value is not a level", `{"msg":"level","x":1}`, lvNone},
		{"logfmt", `ts=2024-01-02T03:04:05Z caller=main.go:42 level=error msg="db down"`, lvError},
		{"logrus text", `time="2024-01-02T03:04:05Z" level=warning msg="retrying"`, lvWarn},
		// access logs
		{"http 503", `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /api HTTP/1.1" 503 12 "-" "curl/8"`, lvError},
		{"http 404", `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /x HTTP/1.1" 404 12 "-" "curl/8"`, lvWarn},
		{"http 200", `127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 12 "-" "curl/8"`, lvInfo},
		// unknown stays unknown
		{"tutorial", "[01/Feb/2024 14:46:21] 192.168.1.20 veronica08 accessed file 'concern.html'", lvNone},
		{"HPC", "134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component \\042alt0\\042 is in the unavailable state (HWID=1973)", lvNone},
		{"HealthApp", "20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", lvNone},
		{"prose with a capitalised level word", "the job reported Error while copying", lvNone},
		{"sentence starting with Alert", "Alert raised by the monitor for disk usage", lvNone},
		{"English I is not a level", "I think the build passed", lvNone},
		{"empty", "", lvNone},
	}
	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &logwardenpb.LogEvent{}
			p.Parse(tt.line, ev)
			if ev.GetLevel() != tt.want {
				t.Fatalf("Parse(%q).Level = %v, want %v", tt.line, ev.GetLevel(), tt.want)
			}
		})
	}
}

// TestParseLevelLoghub reads one line of every (template, level) of the eight Loghub
// 2k samples (testdata/loghub/levels.tsv, from github.com/logpai/loghub, see
// testdata/loghub/LICENSE): where the data set has a level column the parser must
// agree with it; where it has none, a line gets a level only from an explicit marker
// (OpenSSH "error:"/"fatal:", Proxifier "error :").
func TestParseLevelLoghub(t *testing.T) {
	f, err := os.Open("testdata/loghub/levels.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth := map[string]logwardenpb.LogLevel{
		"I": lvInfo, "D": lvDebug, "V": lvTrace, "W": lvWarn, "E": lvError,
		"notice": lvNote, "error": lvError, "INFO": lvInfo, "WARN": lvWarn, "ERROR": lvError,
	}
	marked := map[string]logwardenpb.LogLevel{"error:": lvError, "fatal:": lvCrit, "error :": lvError}
	p := newTestParser()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, levelled := 0, 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		parts := strings.SplitN(sc.Text(), "\t", 3)
		system, gt, line := parts[0], parts[1], parts[2]
		ev := &logwardenpb.LogEvent{}
		p.Parse(line, ev)
		n++
		want := lvNone
		if gt != "-" {
			var ok bool
			if want, ok = truth[gt]; !ok {
				t.Fatalf("%s: unknown ground-truth level %q", system, gt)
			}
		} else {
			for m, lv := range marked {
				if strings.Contains(line, " "+m+" ") {
					want = lv
				}
			}
		}
		if ev.GetLevel() != want {
			t.Errorf("%s %s: level %v, want %v\n  %s", system, gt, ev.GetLevel(), want, line)
		}
		if want != lvNone {
			levelled++
		}
	}
	t.Logf("%d lines, %d with a level", n, levelled)
	if n < 350 || levelled < 200 {
		t.Fatalf("read %d lines, %d with a level", n, levelled)
	}
}
