package k8s

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml as `docker compose` would, with a stub .env in
// place of the user's (an empty one: the file's own defaults apply).
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	stub := filepath.Join(t.TempDir(), "stub.env")
	if err := os.WriteFile(stub, []byte("# stub\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(stub),
		cli.WithDotEnv,
		cli.WithoutEnvironmentResolution, // keep env_file apart from environment
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

func TestComposeServices(t *testing.T) {
	p := loadCompose(t)
	want := append([]string{"kafka", "topic-init", "ingest-token"}, services...)
	for _, n := range want {
		if _, ok := p.Services[n]; !ok {
			t.Errorf("service %q missing (have %v)", n, p.ServiceNames())
		}
	}
	if len(p.Services) != len(want) {
		t.Errorf("services = %v, want exactly %v", p.ServiceNames(), want)
	}
}

func TestComposeKafka(t *testing.T) {
	p := loadCompose(t)
	for _, n := range []string{"kafka", "topic-init"} {
		s := p.Services[n]
		name, tag, _ := strings.Cut(s.Image, ":")
		if name != "apache/kafka" || tag == "" || tag == "latest" {
			t.Errorf("%s image = %q, want apache/kafka with a pinned tag", n, s.Image)
		}
	}
	k := p.Services["kafka"]
	if k.HealthCheck == nil || len(k.HealthCheck.Test) < 2 || k.HealthCheck.Disable {
		t.Fatalf("kafka healthcheck = %+v, want a command", k.HealthCheck)
	}
	if !strings.Contains(strings.Join(k.HealthCheck.Test, " "), "kafka-broker-api-versions.sh") {
		t.Errorf("kafka healthcheck %v does not ask the broker for its API versions", k.HealthCheck.Test)
	}
	env := map[string]string{}
	for key, v := range k.Environment {
		if v != nil {
			env[key] = *v
		}
	}
	if env["KAFKA_PROCESS_ROLES"] != "broker,controller" {
		t.Errorf("KAFKA_PROCESS_ROLES = %q, want a single KRaft node", env["KAFKA_PROCESS_ROLES"])
	}
	for _, l := range []string{"INTERNAL://kafka:19092", "HOST://localhost:9092"} {
		if !strings.Contains(env["KAFKA_ADVERTISED_LISTENERS"], l) {
			t.Errorf("KAFKA_ADVERTISED_LISTENERS = %q, want %s", env["KAFKA_ADVERTISED_LISTENERS"], l)
		}
	}
	hostPort := false
	for _, pc := range k.Ports {
		hostPort = hostPort || (pc.Published == "9092" && pc.Target == 9092)
	}
	if !hostPort {
		t.Errorf("kafka ports = %+v, want 9092 published on the host", k.Ports)
	}

	ti := p.Services["topic-init"]
	if d, ok := ti.DependsOn["kafka"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("topic-init depends_on kafka = %+v, want service_healthy", d)
	}
	script := strings.Join(append(append([]string{}, ti.Entrypoint...), ti.Command...), " ")
	for _, want := range []string{"--if-not-exists", "logs.raw", "logs.verdicts", "alerts", "logs.raw.dlq", "alerts.dlq", "--partitions 6", "kafka:19092"} {
		if !strings.Contains(script, want) {
			t.Errorf("topic-init command lacks %q:\n%s", want, script)
		}
	}
	if ti.Restart != "" && ti.Restart != "no" {
		t.Errorf("topic-init restart = %q, want a one-shot", ti.Restart)
	}
}

func TestComposeAppServices(t *testing.T) {
	p := loadCompose(t)
	root, _ := filepath.Abs(repoRoot)
	ports := map[string][]uint32{"log-producer": {8081, 9081}, "anomaly-classifier": {8082}, "slack-notifier": {8083}}
	for _, n := range services {
		t.Run(n, func(t *testing.T) {
			s := p.Services[n]
			if s.Build == nil {
				t.Fatal("no build section")
			}
			if filepath.Clean(s.Build.Context) != root {
				t.Errorf("build context = %q, want the repository root %q (go.work, pkg/)", s.Build.Context, root)
			}
			if want := "services/" + n + "/Dockerfile"; filepath.ToSlash(s.Build.Dockerfile) != want {
				t.Errorf("dockerfile = %q, want %q", s.Build.Dockerfile, want)
			}
			if _, err := os.Stat(filepath.Join(root, s.Build.Dockerfile)); err != nil {
				t.Errorf("dockerfile: %v", err)
			}
			if d, ok := s.DependsOn["kafka"]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("depends_on kafka = %+v, want service_healthy", d)
			}
			if d, ok := s.DependsOn["topic-init"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("depends_on topic-init = %+v, want service_completed_successfully", d)
			}
			envFileOK := false
			for _, ef := range s.EnvFiles {
				envFileOK = envFileOK || (filepath.Base(ef.Path) == ".env" && !bool(ef.Required))
			}
			if !envFileOK {
				t.Errorf("env_file = %+v, want .env with required: false", s.EnvFiles)
			}
			if b := s.Environment["KAFKA_BROKERS"]; b == nil || *b != "kafka:19092" {
				t.Errorf("KAFKA_BROKERS = %v, want the internal listener kafka:19092", b)
			}
			for _, pc := range s.Ports {
				if !slices.Contains(ports[n], pc.Target) {
					t.Errorf("port %+v: the service listens on %v", pc, ports[n])
				}
			}
			env := serviceEnv(t, n)
			for key := range s.Environment {
				if !env.names[key] {
					t.Errorf("environment sets %s, which %s does not read (names from %s)", key, n, env.from)
				}
			}
		})
	}
}

// TestComposeIngestAsksForAToken: the producer's ingest API reads a token file made by
// the one-shot ingest-token, and its ops port (/readyz names the brokers) is published on
// the host's loopback only.
func TestComposeIngestAsksForAToken(t *testing.T) {
	p := loadCompose(t)
	s := p.Services["log-producer"]
	if d, ok := s.DependsOn["ingest-token"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("depends_on ingest-token = %+v, want service_completed_successfully", d)
	}
	file := s.Environment["INGEST_TOKENS_FILE"]
	if file == nil || *file == "" {
		t.Fatal("INGEST_TOKENS_FILE not set: the ingest API would accept anyone")
	}
	mounted := false
	for _, v := range s.Volumes {
		mounted = mounted || (v.Source == "ingest-token" && strings.HasPrefix(*file, v.Target+"/") && v.ReadOnly)
	}
	if !mounted {
		t.Errorf("volumes %+v: want the ingest-token volume read-only under %s", s.Volumes, *file)
	}
	tok := p.Services["ingest-token"]
	script := strings.Join(append(append([]string{}, tok.Entrypoint...), tok.Command...), " ")
	if !strings.Contains(script, "/dev/urandom") || !strings.Contains(script, filepath.Base(*file)) {
		t.Errorf("ingest-token does not make %s from random bytes:\n%s", filepath.Base(*file), script)
	}
	for _, pc := range s.Ports {
		if pc.Target == 9081 && pc.HostIP != "127.0.0.1" {
			t.Errorf("ops port published as %+v, want on 127.0.0.1 only", pc)
		}
	}
}

// TestComposeClassifierScales: `docker compose up --scale anomaly-classifier=3` needs no
// fixed name and no fixed host port.
func TestComposeClassifierScales(t *testing.T) {
	p := loadCompose(t)
	s := p.Services["anomaly-classifier"]
	if s.ContainerName != "" {
		t.Errorf("container_name = %q: replicas would collide", s.ContainerName)
	}
	for _, pc := range s.Ports {
		if pc.Published != "" {
			t.Errorf("published port %+v: replicas would collide", pc)
		}
	}
	for _, n := range p.ServiceNames() {
		if p.Services[n].ContainerName != "" {
			t.Errorf("%s has container_name %q", n, p.Services[n].ContainerName)
		}
	}
	if got := p.Services["log-producer"].Environment["SOURCES"]; got == nil || *got != "generator,http" {
		t.Errorf("producer SOURCES = %v, want generator,http by default", got)
	}
}

// TestEnvExampleNamesAreRead: every variable .env.example offers is read by at least one
// service, and it offers the settings docs/architecture.md and docs/deploy.md name.
func TestEnvExampleNamesAreRead(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, s := range services {
		for n := range serviceEnv(t, s).names {
			read[n] = true
		}
	}
	offered := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		name, _, ok := strings.Cut(l, "=")
		if !ok || name == "" || strings.ContainsAny(name, " ()") || strings.ToUpper(name) != name {
			continue
		}
		offered[name] = true
		if !read[name] {
			t.Errorf(".env.example offers %s, which no service reads", name)
		}
	}
	for _, n := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN",
		"SLACK_CHANNEL", "LOG_LEVEL", "LOG_FORMAT", "KAFKA_BROKERS", "KAFKA_TLS_ENABLED", "KAFKA_SASL_MECHANISM",
		"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "SOURCES"} {
		if !offered[n] {
			t.Errorf(".env.example does not offer %s", n)
		}
	}
}
