package conf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Brokers []string `mapstructure:"brokers" desc:"brokers"`
	Enabled bool     `mapstructure:"enabled"`
}

type testConfig struct {
	Kafka    inner         `mapstructure:"kafka"`
	Topic    string        `mapstructure:"topic" desc:"the topic"`
	Rate     float64       `mapstructure:"rate"`
	Count    int           `mapstructure:"count"`
	Wait     time.Duration `mapstructure:"wait"`
	MaxBytes int64         `mapstructure:"max_bytes"`
	Hidden   string        `mapstructure:"-"`
}

func (c *testConfig) Validate() error {
	if c.Count < 0 {
		return errors.New("count (COUNT): must be ≥ 0")
	}
	return nil
}

func defaults() *testConfig {
	return &testConfig{Kafka: inner{Brokers: []string{"127.0.0.1:9092"}}, Topic: "logs.raw", Rate: 5, Wait: time.Second}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "c.yaml")
	os.WriteFile(yml, []byte("topic: from-yaml\nrate: 7\ncount: 1\nkafka:\n  brokers: [a:1, b:2]\n"), 0o644)
	envFile := filepath.Join(dir, ".env")
	os.WriteFile(envFile, []byte("# comment\nRATE=8\nCOUNT=\"2\"\n"), 0o644)
	env := map[string]string{"COUNT": "3", "WAIT": "250ms", "MAX_BYTES": "1024"}
	cfg := defaults()
	rest, err := Load(cfg, Options{Name: "x", EnvFile: envFile, Getenv: func(k string) string { return env[k] },
		Args: []string{"pos", "--config", yml, "--max-bytes=2048", "--kafka-enabled", "--", "--not-a-flag"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &testConfig{Kafka: inner{Brokers: []string{"a:1", "b:2"}, Enabled: true}, Topic: "from-yaml", Rate: 8, Count: 3,
		Wait: 250 * time.Millisecond, MaxBytes: 2048}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("cfg = %+v\nwant  %+v", cfg, want)
	}
	if strings.Join(rest, " ") != "pos --not-a-flag" {
		t.Fatalf("rest = %q", rest)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("kafka:\n  brokerz: [x]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown yaml key", []string{"--config", typo}, nil, `unknown key "kafka.brokerz"`},
		{"bad env value", nil, map[string]string{"RATE": "fast"}, "rate (RATE from environment RATE)"},
		{"bad flag value", []string{"--wait", "soon"}, nil, "wait (WAIT from flag --wait)"},
		{"unknown flag", []string{"--nope"}, nil, "unknown flag --nope"},
		{"missing value", []string{"--topic"}, nil, "needs a value"},
		{"validation", []string{"--count", "-1"}, nil, "count (COUNT)"},
		{"hidden field has no flag", []string{"--hidden", "x"}, nil, "unknown flag --hidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(defaults(), Options{Args: tt.args, EnvFile: filepath.Join(dir, "none"), Getenv: func(k string) string { return tt.env[k] }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHelpListsEveryKey(t *testing.T) {
	var out bytes.Buffer
	_, err := Load(defaults(), Options{Name: "svc", Args: []string{"-h"}, Usage: &out, Getenv: func(string) string { return "" }})
	if !errors.Is(err, ErrHelp) {
		t.Fatal(err)
	}
	for _, want := range []string{"--kafka-brokers [KAFKA_BROKERS]", `(default "127.0.0.1:9092")`, "--max-bytes [MAX_BYTES]", "the topic", `(default "1s")`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}
