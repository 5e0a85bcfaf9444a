package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the configuration table in docs/anomaly-classifier.md")

func TestConfigDefaultsValidate(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cc := cfg.ConsumerConfig()
	if cc.GroupID != "anomaly-classifier" || len(cc.Topics) != 1 || cc.Topics[0] != "logs.raw" {
		t.Errorf("consumer %+v", cc)
	}
}

func TestConfigLoad(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("input_topik: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(*Config) error
		wantErr string
	}{
		{"env", nil, map[string]string{"INPUT_TOPIC": "in", "CONSUMER_BATCH_SIZE": "7", "VERDICTS_ENABLED": "false", "RULES": "/r.yaml", "OPENAI_API_KEY": "k"},
			func(c *Config) error {
				if c.InputTopic != "in" || c.Consumer.BatchSize != 7 || c.VerdictsEnabled || c.Engine().Rules != "/r.yaml" || !c.OpenAI.Enabled() {
					return fmt.Errorf("%+v", c)
				}
				return nil
			}, ""},
		{"flag beats env", []string{"--consumer-linger", "20ms", "--stats-spike-min", "5"}, map[string]string{"CONSUMER_LINGER": "1s"},
			func(c *Config) error {
				if c.Consumer.Linger != 20*time.Millisecond || c.Engine().Stats.SpikeMin != 5 {
					return fmt.Errorf("linger %s spike_min %d", c.Consumer.Linger, c.Stats.SpikeMin)
				}
				return nil
			}, ""},
		{"bad partitions names the key", nil, map[string]string{"TOPIC_PARTITIONS": "0"}, nil, "topic_partitions"},
		{"empty alerts topic", []string{"--alerts-topic", ""}, nil, nil, "alerts_topic"},
		{"bad consumer offset", nil, map[string]string{"CONSUMER_START_OFFSET": "middle"}, nil, "consumer.start_offset"},
		{"typo in YAML rejected", []string{"--config", typo}, nil, nil, "input_topik"},
		{"stray argument", []string{"extra"}, nil, nil, "unexpected arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := loadConfig(c.args, func(k string) string { return c.env[k] }, &stderr)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := c.check(cfg); err != nil {
				t.Error(err)
			}
		})
	}
}

const (
	docFile    = "../../../../docs/anomaly-classifier.md"
	tableBegin = "<!-- service-config:begin (generated: go test ./cmd/anomaly-classifier -run TestConfigDoc -update) -->"
	tableEnd   = "<!-- service-config:end -->"
)

func configTable() string {
	var b strings.Builder
	b.WriteString("| key | environment | flag | default | description |\n| --- | --- | --- | --- | --- |\n")
	cfg := DefaultConfig()
	for _, k := range config.Describe(&cfg) {
		def := k.Default
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `--%s` | %s | %s |\n", k.Name, k.Env, k.Flag, def, strings.ReplaceAll(k.Desc, "|", "\\|"))
	}
	return b.String()
}

// TestConfigDoc fails when the table in docs/anomaly-classifier.md and the
// Config struct disagree; -update rewrites the table.
func TestConfigDoc(t *testing.T) {
	doc, err := os.ReadFile(docFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q … %q not found", docFile, tableBegin, tableEnd)
	}
	want := configTable()
	got := s[i+len(tableBegin)+1 : j]
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("%s: the service's configuration table is stale; run go test ./cmd/anomaly-classifier -run TestConfigDoc -update", docFile)
	}
	s = s[:i+len(tableBegin)+1] + want + s[j:]
	if err := os.WriteFile(docFile, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
