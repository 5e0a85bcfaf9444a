package config_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type groupConfig struct {
	Wait  time.Duration `mapstructure:"wait" desc:"how long to wait"`
	Hosts []string      `mapstructure:"hosts" desc:"host:port list"`
}

type slackConfig struct {
	WebhookURL string `mapstructure:"webhook_url" desc:"incoming webhook"`
}

type testConfig struct {
	Name   string            `mapstructure:"name" desc:"a name"`
	Debug  bool              `mapstructure:"debug"`
	Count  int               `mapstructure:"count" desc:"must not be negative"`
	Ratio  float64           `mapstructure:"ratio"`
	Labels map[string]string `mapstructure:"labels"`
	Group  groupConfig       `mapstructure:"group"`
	Slack  slackConfig       `mapstructure:"slack"`
}

func defaults() *testConfig {
	return &testConfig{
		Name:  "default",
		Count: 1,
		Group: groupConfig{Wait: time.Second, Hosts: []string{"localhost:9092"}},
	}
}

func (c *testConfig) Validate() error {
	if c.Count < 0 {
		return errors.New(`count: must not be negative`)
	}
	return nil
}

// layers writes the YAML and .env files a case asks for and returns the options.
type layers struct {
	yaml, dotenv string
	env          map[string]string
	args         []string
}

func (l layers) options(t *testing.T) config.Options {
	t.Helper()
	dir := t.TempDir()
	args := l.args
	if l.yaml != "" {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, []byte(l.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", p}, args...)
	}
	envFile := filepath.Join(dir, ".env")
	if l.dotenv != "" {
		if err := os.WriteFile(envFile, []byte(l.dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return config.Options{
		Name:    "test",
		Args:    args,
		Getenv:  func(k string) string { return l.env[k] },
		EnvFile: envFile,
	}
}

func TestLoadPrecedence(t *testing.T) {
	const (
		yamlDoc = "name: yaml\ngroup:\n  wait: 2s\n  hosts: [y1, y2]\n"
		dotenv  = "NAME=dotenv\nGROUP_WAIT=3s\nGROUP_HOSTS=d1,d2\n"
	)
	env := map[string]string{"NAME": "env", "GROUP_WAIT": "4s", "GROUP_HOSTS": "e1, e2"}
	flags := []string{"--name", "flag", "--group-wait=5s", "--group-hosts", "f1,f2"}

	type want struct {
		name  string
		wait  time.Duration
		hosts []string
	}
	tests := []struct {
		name string
		l    layers
		want want
	}{
		{"defaults", layers{}, want{"default", time.Second, []string{"localhost:9092"}}},
		{"yaml beats defaults", layers{yaml: yamlDoc}, want{"yaml", 2 * time.Second, []string{"y1", "y2"}}},
		{".env beats yaml", layers{yaml: yamlDoc, dotenv: dotenv}, want{"dotenv", 3 * time.Second, []string{"d1", "d2"}}},
		{"env beats .env", layers{yaml: yamlDoc, dotenv: dotenv, env: env}, want{"env", 4 * time.Second, []string{"e1", "e2"}}},
		{"flags beat env", layers{yaml: yamlDoc, dotenv: dotenv, env: env, args: flags}, want{"flag", 5 * time.Second, []string{"f1", "f2"}}},
		{"flags over defaults alone", layers{args: flags}, want{"flag", 5 * time.Second, []string{"f1", "f2"}}},
		{"env over yaml, no .env", layers{yaml: yamlDoc, env: env}, want{"env", 4 * time.Second, []string{"e1", "e2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			if _, err := config.Load(cfg, tc.l.options(t)); err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{cfg.Name, cfg.Group.Wait, cfg.Group.Hosts}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLoadEveryType(t *testing.T) {
	tests := []struct {
		name string
		l    layers
	}{
		{"yaml", layers{yaml: mustRead(t, "testdata/full.yaml")}},
		{"flags", layers{args: []string{
			"--name=from-yaml", "--debug", "--count", "7", "--ratio", "0.5", "--labels", "team=core",
			"--group-wait", "5s", "--group-hosts", "a:1", "--group-hosts", "b:2",
			"--slack-webhook-url", "https://hooks.example/x",
		}}},
		{"env", layers{env: map[string]string{
			"NAME": "from-yaml", "DEBUG": "true", "COUNT": "7", "RATIO": "0.5", "LABELS": "team=core",
			"GROUP_WAIT": "5s", "GROUP_HOSTS": "a:1,b:2", "SLACK_WEBHOOK_URL": "https://hooks.example/x",
		}}},
		{".env", layers{dotenv: `NAME=from-yaml
DEBUG=true
COUNT=7
RATIO=0.5
LABELS="team=core"
GROUP_WAIT=5s
GROUP_HOSTS=a:1,b:2
SLACK_WEBHOOK_URL=https://hooks.example/x
UNRELATED=ignored
`}},
	}
	want := &testConfig{
		Name: "from-yaml", Debug: true, Count: 7, Ratio: 0.5, Labels: map[string]string{"team": "core"},
		Group: groupConfig{Wait: 5 * time.Second, Hosts: []string{"a:1", "b:2"}},
		Slack: slackConfig{WebhookURL: "https://hooks.example/x"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			if _, err := config.Load(cfg, tc.l.options(t)); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(cfg, want) {
				t.Errorf("got %+v\nwant %+v", cfg, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		l    layers
		want string // the whole error text
	}{
		{
			"unknown yaml key",
			layers{args: []string{"--config", "testdata/typo.yaml"}},
			`config: typo.yaml: unknown key "group.wiat"`,
		},
		{
			"yaml scalar where a section is",
			layers{yaml: "group: 5s\n"},
			`config: config.yaml: unknown key "group"`,
		},
		{
			"bad duration from env",
			layers{env: map[string]string{"GROUP_WAIT": "abc"}},
			`config: key "group.wait" (env GROUP_WAIT): time: invalid duration "abc"`,
		},
		{
			"bad duration from flag",
			layers{args: []string{"--group-wait", "10"}},
			`config: key "group.wait" (flag --group-wait): time: missing unit in duration "10"`,
		},
		{
			"bad duration from .env",
			layers{dotenv: "GROUP_WAIT=soon\n"},
			`config: key "group.wait" (.env GROUP_WAIT): time: invalid duration "soon"`,
		},
		{
			"duration without unit in yaml",
			layers{yaml: "group:\n  wait: 5\n"},
			`config: key "group.wait" (file config.yaml): duration 5 needs a unit, e.g. "5s"`,
		},
		{
			"bad int from env",
			layers{env: map[string]string{"COUNT": "many"}},
			`config: key "count" (env COUNT): `,
		},
		{
			"bad map from flag",
			layers{args: []string{"--labels", "team"}},
			`config: key "labels" (flag --labels): "team" is not key=value`,
		},
		{
			"unknown flag",
			layers{args: []string{"--kafka-borkers", "x"}},
			`config: unknown flag: --kafka-borkers (see -h)`,
		},
		{
			"validate error propagates",
			layers{env: map[string]string{"COUNT": "-2"}},
			`config: count: must not be negative`,
		},
		{
			"missing config file",
			layers{args: []string{"--config", "testdata/nope.yaml"}},
			`config: open testdata/nope.yaml: no such file or directory`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(defaults(), tc.l.options(t))
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", tc.want)
			}
			if got := err.Error(); got != tc.want && !(strings.HasSuffix(tc.want, ": ") && strings.HasPrefix(got, tc.want)) {
				t.Errorf("error\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLoadConfigFileFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    layers
	}{
		{"CONFIG_FILE env", layers{env: map[string]string{"CONFIG_FILE": "testdata/full.yaml"}}},
		{"CONFIG_FILE in .env", layers{dotenv: "CONFIG_FILE=testdata/full.yaml\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			if _, err := config.Load(cfg, tc.l.options(t)); err != nil {
				t.Fatal(err)
			}
			if cfg.Name != "from-yaml" || cfg.Count != 7 {
				t.Errorf("YAML not read: %+v", cfg)
			}
		})
	}
}

func TestLoadPositionals(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{nil, []string{}},
		{[]string{"a.log", "--debug", "b.log"}, []string{"a.log", "b.log"}},
		{[]string{"--name", "x", "--", "--debug"}, []string{"--debug"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cfg := defaults()
			rest, err := config.Load(cfg, layers{args: tc.args}.options(t))
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) != len(tc.want) || (len(rest) > 0 && !reflect.DeepEqual(rest, tc.want)) {
				t.Errorf("rest = %q, want %q", rest, tc.want)
			}
		})
	}
}

func TestLoadMissingDotEnvAndNilGetenv(t *testing.T) {
	cfg := defaults()
	_, err := config.Load(cfg, config.Options{EnvFile: filepath.Join(t.TempDir(), "absent.env")})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, defaults()) {
		t.Errorf("defaults changed: %+v", cfg)
	}
}

func TestLoadHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var out bytes.Buffer
			_, err := config.Load(defaults(), config.Options{Name: "svc", Args: []string{"--name", "x", arg}, Usage: &out})
			if !errors.Is(err, config.ErrHelp) {
				t.Fatalf("err = %v, want ErrHelp", err)
			}
			golden(t, "testdata/help.golden", out.Bytes())
			for _, k := range config.Describe(defaults()) {
				if !strings.Contains(out.String(), "--"+k.Flag) || !strings.Contains(out.String(), "["+k.Env+"]") {
					t.Errorf("usage lacks --%s [%s]", k.Flag, k.Env)
				}
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	got := config.Describe(defaults())
	want := []config.Key{
		{Name: "name", Env: "NAME", Flag: "name", Default: "default", Desc: "a name"},
		{Name: "debug", Env: "DEBUG", Flag: "debug", Default: "false"},
		{Name: "count", Env: "COUNT", Flag: "count", Default: "1", Desc: "must not be negative"},
		{Name: "ratio", Env: "RATIO", Flag: "ratio", Default: "0"},
		{Name: "labels", Env: "LABELS", Flag: "labels", Default: ""},
		{Name: "group.wait", Env: "GROUP_WAIT", Flag: "group-wait", Default: "1s", Desc: "how long to wait"},
		{Name: "group.hosts", Env: "GROUP_HOSTS", Flag: "group-hosts", Default: "localhost:9092", Desc: "host:port list"},
		{Name: "slack.webhook_url", Env: "SLACK_WEBHOOK_URL", Flag: "slack-webhook-url", Default: "", Desc: "incoming webhook"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadRejectsUnsupportedTypes(t *testing.T) {
	cfg := &badConfig{}
	_, err := config.Load(cfg, config.Options{})
	if err == nil || !strings.Contains(err.Error(), `key "ptr"`) {
		t.Errorf("err = %v, want it to name key \"ptr\"", err)
	}
}

type badConfig struct {
	Ptr *int `mapstructure:"ptr"`
}

func (*badConfig) Validate() error { return nil }

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestSyncBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	orig := "head\n# >>> x\n# OLD=1\n# <<< x\ntail\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	body := config.EnvLines([]config.Key{{Env: "A_B", Default: "3", Desc: "the a b"}})
	if err := config.SyncBlock(path, "# >>> x", "# <<< x", body, false); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("stale block: err = %v, want it to say stale", err)
	}
	if err := config.SyncBlock(path, "# >>> x", "# <<< x", body, true); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "head\n# >>> x\n# (the a b)\n# A_B=3\n# <<< x\ntail\n"; string(got) != want {
		t.Fatalf("after update:\n%s\nwant:\n%s", got, want)
	}
	if err := config.SyncBlock(path, "# >>> x", "# <<< x", body, false); err != nil {
		t.Fatalf("fresh block: %v", err)
	}
	if err := config.SyncBlock(path, "# >>> y", "# <<< y", body, false); err == nil {
		t.Fatal("missing markers: no error")
	}
}
