package config_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/pkg/config"
)

type appSecrets struct {
	User     string `mapstructure:"user" desc:"user name"`
	Password string `mapstructure:"password" desc:"password (secret)"`
	Webhook  struct {
		URL string `mapstructure:"url" desc:"webhook URL (secret: environment or file only)"`
	} `mapstructure:"webhook"`
}

func (c *appSecrets) Validate() error { return nil }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecretsAreNotFlags: a secret on the command line is visible to every user of the
// machine (ps, /proc/*/cmdline); Load refuses it, names the variable to use instead and
// never repeats the value.
func TestSecretsAreNotFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--password", "hunter2-very-secret"},
		{"--password=hunter2-very-secret"},
		{"--webhook-url", "https://hooks.slack.com/services/T0/B0/hunter2-very-secret"},
	} {
		cfg := &appSecrets{}
		_, err := config.Load(cfg, config.Options{Name: "svc", Args: args, EnvFile: filepath.Join(t.TempDir(), "none.env")})
		if err == nil {
			t.Fatalf("Load(%q) accepted a secret flag", args)
		}
		msg := err.Error()
		if strings.Contains(msg, "hunter2") {
			t.Errorf("error repeats the secret: %s", msg)
		}
		env := "PASSWORD"
		if strings.Contains(args[0], "webhook") {
			env = "WEBHOOK_URL"
		}
		if !strings.Contains(msg, env+" (") && !strings.Contains(msg, "set "+env+", or "+env+"_FILE") {
			t.Errorf("error %q does not name %s and %s_FILE", msg, env, env)
		}
	}
	// Not a secret: the flag works.
	cfg := &appSecrets{}
	if _, err := config.Load(cfg, config.Options{Args: []string{"--user", "alice"}, EnvFile: filepath.Join(t.TempDir(), "none.env")}); err != nil || cfg.User != "alice" {
		t.Fatalf("--user: %v, %q", err, cfg.User)
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "s3cret-from-file\n")
	hook := writeFile(t, dir, "hook", "https://hooks.slack.com/services/T0/B0/xyz\r\n")
	empty := writeFile(t, dir, "empty", "\n")
	tests := []struct {
		name     string
		env      map[string]string
		dotenv   string
		wantPW   string
		wantHook string
		wantErr  string // substring; "" = no error
	}{
		{"environment variable", map[string]string{"PASSWORD": "from-env"}, "", "from-env", "", ""},
		{"file named by the environment", map[string]string{"PASSWORD_FILE": pw, "WEBHOOK_URL_FILE": hook}, "",
			"s3cret-from-file", "https://hooks.slack.com/services/T0/B0/xyz", ""},
		{"file named in .env", nil, "PASSWORD_FILE=" + pw + "\n", "s3cret-from-file", "", ""},
		{"environment file beats .env value", map[string]string{"PASSWORD_FILE": pw}, "PASSWORD=from-dotenv\n", "s3cret-from-file", "", ""},
		{"both in one place", map[string]string{"PASSWORD": "x", "PASSWORD_FILE": pw}, "", "", "", "password (PASSWORD, PASSWORD_FILE): both are set"},
		{"missing file", map[string]string{"PASSWORD_FILE": filepath.Join(dir, "nope")}, "", "", "", "password (PASSWORD_FILE): open " + filepath.Join(dir, "nope")},
		{"empty file", map[string]string{"PASSWORD_FILE": empty}, "", "", "", "password (PASSWORD_FILE): " + empty + " is empty"},
		{"not a secret: no _FILE", map[string]string{"USER_FILE": pw}, "", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			envFile := filepath.Join(t.TempDir(), ".env")
			if tc.dotenv != "" {
				writeFile(t, filepath.Dir(envFile), ".env", tc.dotenv)
			}
			cfg := &appSecrets{}
			_, err := config.Load(cfg, config.Options{Getenv: func(k string) string { return tc.env[k] }, EnvFile: envFile})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load = %v, want an error containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error repeats the file's content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Password != tc.wantPW || cfg.Webhook.URL != tc.wantHook || cfg.User != "" {
				t.Errorf("password %q, webhook %q, user %q; want %q, %q, \"\"", cfg.Password, cfg.Webhook.URL, cfg.User, tc.wantPW, tc.wantHook)
			}
		})
	}
}

func TestDescribeMarksSecrets(t *testing.T) {
	got := map[string]config.Key{}
	for _, k := range config.Describe(&appSecrets{}) {
		got[k.Name] = k
	}
	if k := got["password"]; !k.Secret || k.FileEnv() != "PASSWORD_FILE" {
		t.Errorf("password: secret %v, file env %q", k.Secret, k.FileEnv())
	}
	if k := got["webhook.url"]; !k.Secret || k.FileEnv() != "WEBHOOK_URL_FILE" {
		t.Errorf("webhook.url: secret %v, file env %q", k.Secret, k.FileEnv())
	}
	if k := got["user"]; k.Secret || k.FileEnv() != "" {
		t.Errorf("user: secret %v, file env %q", k.Secret, k.FileEnv())
	}
	lines := config.EnvLines(config.Describe(&appSecrets{}))
	if !strings.Contains(lines, "# (password (secret); or PASSWORD_FILE = a file holding it)\n# PASSWORD=\n") {
		t.Errorf("EnvLines does not offer PASSWORD_FILE:\n%s", lines)
	}
}

func TestSecretUsage(t *testing.T) {
	var usage strings.Builder
	_, err := config.Load(&appSecrets{}, config.Options{Name: "svc", Args: []string{"-h"}, Usage: &usage})
	if err != config.ErrHelp {
		t.Fatal(err)
	}
	out := usage.String()
	if strings.Contains(out, "--password") || !strings.Contains(out, "[PASSWORD or PASSWORD_FILE]") || !strings.Contains(out, "--user string") {
		t.Errorf("usage:\n%s", out)
	}
}

func TestSecrets(t *testing.T) {
	cfg := &appSecrets{User: "alice", Password: "pw-1234"}
	cfg.Webhook.URL = "https://hooks.slack.com/services/T0/B0/xyz"
	got := config.Secrets(cfg)
	if len(got) != 2 || got[0] != "pw-1234" || got[1] != cfg.Webhook.URL {
		t.Errorf("Secrets = %q", got)
	}
	if got := config.Secrets(&appSecrets{User: "alice"}); len(got) != 0 {
		t.Errorf("Secrets of unset secrets = %q", got)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0123/B0456/AbCdEfSecret", "https://hooks.slack.com/services/REDACTED"},
		{"https://hooks.slack.com/workflows/T0123/A1/123/sEcReT", "https://hooks.slack.com/workflows/REDACTED"},
		{"https://acme.webhook.office.com/webhookb2/0000-1111@2222/IncomingWebhook/abc/def", "https://acme.webhook.office.com/webhookb2/REDACTED"},
		{"https://discord.com/api/webhooks/123/tok_en", "https://discord.com/api/webhooks/123/REDACTED"},
		{"https://user:p4ss@llm.example.com/v1", "https://REDACTED@llm.example.com/v1"},
		{"https://tok-user@llm.example.com/v1", "https://REDACTED@llm.example.com/v1"},
		{"https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SeCrEt&sv=1.0",
			"https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=REDACTED&sv=1.0"},
		{"https://api.example.com/hook?access_token=abc&page=2", "https://api.example.com/hook?access_token=REDACTED&page=2"},
		{"https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions"},
		{"http://us er:p4ss@host/", "http://REDACTED@host/"},        // does not parse: userinfo masked anyway
		{"https://user:pa?ss@host/v1", "https://REDACTED?REDACTED"}, // does not parse: blunt,
		{"https://user:pa#ss@host/v1", "https://REDACTED?REDACTED"},
		{"https://user:p@ss@host/v1", "https://REDACTED@host/v1"},
	}
	for _, tc := range tests {
		if got := config.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	hook := "https://hooks.slack.com/services/T0123/B0456/AbCdEfSecret"
	msg := `Post "` + hook + `": 404 no_service; retried with token xoxb-1234-5678-abcdef, key sk-abcdefghijklmnopqrstuv, ` +
		`Authorization: Bearer eyJhbGciOi.payload.sig, password hunter2!, url-escaped ` + strings.ReplaceAll("hunter2!", "!", "%21")
	got := config.Redact(msg, hook, "hunter2!", "")
	for _, secret := range []string{"AbCdEfSecret", "xoxb-1234", "abcdefghijklmnop", "eyJhbGciOi", "hunter2"} {
		if strings.Contains(got, secret) {
			t.Errorf("Redact left %q in: %s", secret, got)
		}
	}
	for _, kept := range []string{"https://hooks.slack.com/services/REDACTED", "404 no_service", "xoxb-REDACTED", "sk-REDACTED", "Bearer REDACTED"} {
		if !strings.Contains(got, kept) {
			t.Errorf("Redact lost %q: %s", kept, got)
		}
	}
	if got := config.Redact("a b c", "a"); got != "a b c" {
		t.Errorf("a one-letter secret rewrote the text: %q", got)
	}
}

// FuzzRedactURL: whatever the user information and token, the redacted URL parses and
// carries neither.
func FuzzRedactURL(f *testing.F) {
	f.Add("p4ss", "tok")
	f.Add("p@ss:w/rd?#", "a&b=c")
	f.Fuzz(func(t *testing.T, pass, token string) {
		u := &url.URL{Scheme: "https", Host: "llm.example.com", User: url.UserPassword("u", pass), Path: "/v1",
			RawQuery: url.Values{"token": {token}, "page": {"2"}}.Encode()}
		out := config.RedactURL(u.String())
		got, err := url.Parse(out)
		if err != nil {
			t.Fatalf("RedactURL(%q) = %q does not parse: %v", u, out, err)
		}
		if _, has := got.User.Password(); has || got.User.Username() != config.Redacted {
			t.Fatalf("RedactURL(%q) = %q keeps user information", u, out)
		}
		if q := got.Query(); q.Get("token") != config.Redacted || q.Get("page") != "2" || got.Host != "llm.example.com" {
			t.Fatalf("RedactURL(%q) = %q", u, out)
		}
	})
}
