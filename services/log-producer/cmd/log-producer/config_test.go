package main

import (
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
)

func load(args []string, env map[string]string) (Config, error) {
	cfg := defaultConfig()
	_, err := config.Load(&cfg, config.Options{Name: "log-producer", Args: args, EnvFile: "testdata/none.env",
		Getenv: func(k string) string { return env[k] }})
	return cfg, err
}

func TestDefaultConfigIsValid(t *testing.T) {
	cfg, err := load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.sources(); !s["generator"] || !s["http"] || len(s) != 2 || cfg.Topic != "logs.raw" || cfg.HTTP.Addr != ":9081" ||
		cfg.Ingest.Addr != "127.0.0.1:8081" || cfg.Ingest.TokensFile != "" {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestConfigSources(t *testing.T) {
	cfg, err := load([]string{"--config", "testdata/good.yaml"}, map[string]string{"FILE_POLL_INTERVAL": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.sources(); !s["file"] || !s["http"] || s["generator"] || cfg.File.StartAt != "beginning" ||
		cfg.File.PollInterval != time.Second || cfg.HTTP.Addr != "127.0.0.1:9999" || cfg.Generator.Rate != 0 {
		t.Fatalf("cfg: %+v", cfg)
	}
	cfg, err = load(nil, map[string]string{"SOURCES": "stdin, GENERATOR", "GENERATOR_COUNT": "10"})
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.sources(); !s["stdin"] || !s["generator"] || len(s) != 2 || cfg.Generator.Count != 10 {
		t.Fatalf("sources %v", s)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"typo in yaml", []string{"--config", "testdata/typo.yaml"}, nil, `unknown key "generator.rat"`},
		{"unknown source", nil, map[string]string{"SOURCES": "kafka"}, `sources (SOURCES): unknown source "kafka"`},
		{"file without paths", []string{"--sources", "file"}, nil, "file.paths (FILE_PATHS)"},
		{"bad start_at", []string{"--sources", "file", "--file-paths", "x", "--file-start-at", "middle"}, nil, "file.start_at"},
		{"bad rate", nil, map[string]string{"GENERATOR_RATE": "-1"}, "generator.rate (GENERATOR_RATE)"},
		{"negative file batch", []string{"--sources", "file", "--file-paths", "x"}, map[string]string{"FILE_BATCH_LINES": "-1"}, "file.batch_lines (FILE_BATCH_LINES): must be ≥ 0"},
		{"rate not a number", nil, map[string]string{"GENERATOR_RATE": "fast"}, `key "generator.rate" (env GENERATOR_RATE)`},
		{"no brokers", nil, map[string]string{"KAFKA_BROKERS": " , "}, "kafka.brokers"},
		{"empty topic", []string{"--topic", " "}, nil, "topic (TOPIC)"},
		{"body limit", []string{"--ingest-max-body-bytes", "0"}, nil, "ingest.max_body_bytes (INGEST_MAX_BODY_BYTES)"},
		{"ingest on the ops port", nil, map[string]string{"INGEST_ADDR": ":9081"}, "ingest.addr (INGEST_ADDR): :9081 is the ops port"},
		{"writer key in house style", nil, map[string]string{"WRITER_BATCH_SIZE": "0"}, "writer.batch_size (WRITER_BATCH_SIZE): must be"},
		{"ops address", []string{"--http-addr", ""}, nil, "http.addr (HTTP_ADDR)"},
		{"log format", nil, map[string]string{"WRITER_COMPRESSION": "brotli"}, "compression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load(tt.args, tt.env); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
