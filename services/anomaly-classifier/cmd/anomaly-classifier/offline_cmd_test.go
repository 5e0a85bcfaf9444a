package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const offlineLines = `[05/Jan/2026 10:00:00] 10.10.1.2 bob logged in successfully
[05/Jan/2026 10:00:05] 10.10.1.2 bob accessed file '/etc/shadow'
[05/Jan/2026 10:00:09] 10.10.1.2 bob executed command 'ls -la'
`

func TestOfflineCommands(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lines.log"), []byte(offlineLines), 0o600); err != nil {
		t.Fatal(err)
	}
	labels := `{"line":1,"anomalous":false,"scenario":"","incident_id":"","entity":"bob"}
{"line":2,"anomalous":true,"scenario":"sensitive_file","incident_id":"inc-1","entity":"bob"}
{"line":3,"anomalous":false,"scenario":"","incident_id":"","entity":"bob"}
`
	if err := os.WriteFile(filepath.Join(dir, "labels.jsonl"), []byte(labels), 0o600); err != nil {
		t.Fatal(err)
	}
	noenv := func(string) string { return "" }
	tests := []struct {
		args  []string
		stdin string
		want  []string
	}{
		{[]string{"classify"}, offlineLines, []string{`{"line":2,"anomalous":true`, `"rule_id":"shadow-read"`, `{"line":3,"anomalous":false`}},
		{[]string{"templates", "--in", filepath.Join(dir, "lines.log")}, "", []string{"\t<*> bob accessed file <*>\n"}},
		{[]string{"eval", "--in", dir}, "", []string{"F1        1.0000", "sensitive_file  line  1      1         1.0000  1/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			var out, errb bytes.Buffer
			if err := run(context.Background(), tt.args, noenv, strings.NewReader(tt.stdin), &out, &errb); err != nil {
				t.Fatalf("%v (stderr %s)", err, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out, errb bytes.Buffer
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("title: Bad\nlogsource: {product: linux}\ndetection: {sel: {Action: x}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"classify", "--rules-dir", filepath.Dir(bad)}, noenv, strings.NewReader(""), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "bad.yml:1: Bad: detection.condition is required") {
		t.Fatalf("bad rule file: %v", err)
	}
}
