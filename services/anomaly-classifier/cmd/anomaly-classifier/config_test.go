package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
		{"env", nil, map[string]string{"INPUT_TOPIC": "in", "CONSUMER_BATCH_SIZE": "7", "VERDICTS": "anomalous", "VERDICT_EVENT": "ref", "RULES_DIR": "/r", "OPENAI_API_KEY": "k"},
			func(c *Config) error {
				if c.InputTopic != "in" || c.Consumer.BatchSize != 7 || c.Verdicts != "anomalous" || c.VerdictEvent != "ref" || c.Engine().RulesDir != "/r" || !c.OpenAI.Enabled() {
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
		{"bad partitions names the key", nil, map[string]string{"TOPIC_PARTITIONS": "0"}, nil, "topic_partitions (TOPIC_PARTITIONS): "},
		{"empty alerts topic", []string{"--alerts-topic", ""}, nil, nil, "alerts_topic (ALERTS_TOPIC): "},
		{"bad consumer offset", nil, map[string]string{"CONSUMER_START_OFFSET": "middle"}, nil, "consumer.start_offset (CONSUMER_START_OFFSET): "},
		{"bad writer", nil, map[string]string{"WRITER_BATCH_SIZE": "0"}, nil, "writer.batch_size (WRITER_BATCH_SIZE): "},
		{"empty http addr", []string{"--http-addr", ""}, nil, nil, "http.addr (HTTP_ADDR): "},
		{"bad verdicts mode", nil, map[string]string{"VERDICTS": "some"}, nil, "verdicts (VERDICTS): \"some\" is not one of all, anomalous, off"},
		{"bad verdict event", nil, map[string]string{"VERDICT_EVENT": "copy"}, nil, "verdict_event (VERDICT_EVENT): "},
		{"retired verdicts_enabled", nil, map[string]string{"VERDICTS_ENABLED": "false"}, nil, "verdicts_enabled (VERDICTS_ENABLED): replaced by verdicts (VERDICTS)"},
		{"bad dedup", nil, map[string]string{"DEDUP_EVENTS": "-1"}, nil, "dedup_events (DEDUP_EVENTS): "},
		{"bad llm knob", nil, map[string]string{"OPENAI_BATCH_SIZE": "0"}, nil, "openai.batch_size (OPENAI_BATCH_SIZE): "},
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

// Every validation error of the service reads "key (ENV_NAME): message", whichever
// struct it comes from.
func TestValidationErrorStyle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HTTP.Addr, cfg.InputTopic, cfg.TopicPartitions, cfg.DedupEvents = "", "", 0, -1
	cfg.Consumer.BatchSize = 0 // kafkax reports a consumer's first bad key only
	cfg.Writer.BatchSize = 0
	cfg.Kafka.Brokers = nil
	cfg.OpenAI.BaseURL = "http://user:secret-pw@llm.internal:bad/v1"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	style := regexp.MustCompile(`^([a-z0-9_.]+) \(([A-Z0-9_]+)\): \S`)
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		m := style.FindStringSubmatch(l)
		if m == nil || config.EnvName(m[1]) != m[2] {
			t.Errorf("error %q is not in the style key (ENV_NAME): message", l)
		}
	}
	for _, key := range []string{"http.addr", "input_topic", "topic_partitions", "dedup_events", "consumer.batch_size", "writer.batch_size", "kafka.brokers", "openai.base_url"} {
		if !strings.Contains(err.Error(), key+" (") {
			t.Errorf("no error names %s:\n%v", key, err)
		}
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("a config error echoes a password: %v", err)
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
		flag := "`--" + k.Flag + "`"
		if k.Secret {
			flag = "— (or `" + k.FileEnv() + "`)" // secrets have no flag; the variable may name a file
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Name, k.Env, flag, def, strings.ReplaceAll(k.Desc, "|", "\\|"))
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
