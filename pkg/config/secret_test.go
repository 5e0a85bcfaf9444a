package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/config"
)

type secretConfig struct {
	Channel string `mapstructure:"channel" desc:"a channel"`
	Token   string `mapstructure:"token" desc:"a token (secret)" flag:"-"`
}

func (c *secretConfig) Validate() error { return nil }

// A key tagged flag:"-" has no flag (a flag would show the secret in ps): the
// environment and .env set it, the command line cannot, and usage says so.
func TestLoadEnvironmentOnlyKey(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, ".env")
	if err := os.WriteFile(envFile, []byte("TOKEN=from-dotenv\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := func(args []string, env map[string]string) config.Options {
		return config.Options{Name: "svc", Args: args, Getenv: func(k string) string { return env[k] }, EnvFile: envFile}
	}
	cfg := &secretConfig{}
	if _, err := config.Load(cfg, opts(nil, map[string]string{"TOKEN": "from-env"})); err != nil || cfg.Token != "from-env" {
		t.Fatalf("env: token %q, err %v", cfg.Token, err)
	}
	cfg = &secretConfig{}
	if _, err := config.Load(cfg, opts(nil, nil)); err != nil || cfg.Token != "from-dotenv" {
		t.Fatalf(".env: token %q, err %v", cfg.Token, err)
	}
	cfg = &secretConfig{}
	_, err := config.Load(cfg, opts([]string{"--token", "from-flag"}, nil))
	if err == nil || !strings.Contains(err.Error(), "token (TOKEN): a secret is not accepted as the flag --token") || strings.Contains(err.Error(), "from-flag") {
		t.Fatalf("--token accepted (token %q, err %v)", cfg.Token, err)
	}
	var usage bytes.Buffer
	_, err = config.Load(&secretConfig{}, config.Options{Name: "svc", Args: []string{"-h"}, Usage: &usage})
	if !errors.Is(err, config.ErrHelp) || strings.Contains(usage.String(), "--token") || !strings.Contains(usage.String(), "(no flag)") ||
		!strings.Contains(usage.String(), "[TOKEN or TOKEN_FILE]") {
		t.Fatalf("usage:\n%s", usage.String())
	}
	keys := config.Describe(&secretConfig{})
	if keys[1].Flag != "" || keys[1].Env != "TOKEN" || !keys[1].Secret {
		t.Fatalf("Describe: %+v", keys[1])
	}
}
