package k8s

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type dockerStage struct {
	from string
	cmds []string // instructions after FROM, continuation lines joined
}

// parseDockerfile is a line scan: enough for our own files, not a general parser.
func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if instr, rest, _ := strings.Cut(line, " "); strings.EqualFold(instr, "FROM") {
			stages = append(stages, dockerStage{from: strings.TrimSpace(rest)})
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].cmds = append(stages[len(stages)-1].cmds, line)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func (s dockerStage) instr(name string) []string {
	var out []string
	for _, c := range s.cmds {
		if in, rest, _ := strings.Cut(c, " "); strings.EqualFold(in, name) {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}

func TestDockerfiles(t *testing.T) {
	ports := map[string]string{"log-producer": "8081 9081", "anomaly-classifier": "8082", "slack-notifier": "8083"} // the producer: ingest API, ops
	for _, n := range services {
		t.Run(n, func(t *testing.T) {
			stages := parseDockerfile(t, filepath.Join(repoRoot, "services", n, "Dockerfile"))
			if len(stages) < 2 {
				t.Fatalf("%d stages, want a multi-stage build", len(stages))
			}
			build, final := stages[0], stages[len(stages)-1]
			if !strings.HasPrefix(build.from, "golang:") {
				t.Errorf("build stage FROM %q, want golang", build.from)
			}
			img := strings.Fields(final.from)[0]
			if !strings.HasPrefix(img, "gcr.io/distroless/static") && img != "scratch" {
				t.Errorf("final stage FROM %q, want distroless static or scratch", final.from)
			}
			users := final.instr("USER")
			if len(users) == 0 {
				t.Fatal("final stage sets no USER")
			}
			u, _, _ := strings.Cut(users[len(users)-1], ":")
			if u == "root" || u == "0" || u == "" {
				t.Errorf("USER %q, want non-root", users[len(users)-1])
			}
			all := strings.Join(append(build.instr("ENV"), build.instr("RUN")...), " ")
			if !strings.Contains(all, "CGO_ENABLED=0") {
				t.Error("build does not set CGO_ENABLED=0")
			}
			runs := strings.Join(build.instr("RUN"), " ")
			for _, want := range []string{"go build", "-trimpath", `-ldflags "-s -w"`, "./cmd/" + n} {
				if !strings.Contains(runs, want) {
					t.Errorf("build RUN lacks %q", want)
				}
			}
			if exp := final.instr("EXPOSE"); len(exp) != 1 || exp[0] != ports[n] {
				t.Errorf("EXPOSE %v, want %s", exp, ports[n])
			}
			if ep := final.instr("ENTRYPOINT"); len(ep) != 1 || !strings.Contains(ep[0], "/"+n+`"`) {
				t.Errorf("ENTRYPOINT %v, want the %s binary", ep, n)
			}
			// Every COPY source exists relative to the build context (the repo root).
			for _, c := range build.instr("COPY") {
				f := strings.Fields(c)
				for _, src := range f[:len(f)-1] {
					if strings.HasPrefix(src, "--") {
						continue
					}
					m, _ := filepath.Glob(filepath.Join(repoRoot, src))
					if len(m) == 0 {
						t.Errorf("COPY %s: nothing matches in the repository root", src)
					}
				}
			}
		})
	}
}

// TestDockerignoreKeepsSources: the build context must still hold what the Dockerfiles copy.
func TestDockerignoreKeepsSources(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(line)
		if l == "pkg" || l == "services" || strings.HasPrefix(l, "pkg/") || strings.HasPrefix(l, "services/") || l == "**/go.mod" || l == "**/go.sum" {
			t.Errorf(".dockerignore excludes %q, which the images are built from", l)
		}
	}
}
