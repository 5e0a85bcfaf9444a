package k8s

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the repository, seen from this module's directory.
const repoRoot = ".."

var services = []string{"log-producer", "anomaly-classifier", "slack-notifier"}

// runtimeEnv are read by the Go runtime of every binary, not by pkg/config.
var runtimeEnv = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG", "TZ"}

// fallbackEnv is used for a service whose root config struct (type Config in
// cmd/<service>) does not exist yet: the names every service shares (docs/deploy.md) and
// for the service's own integrations. Each one is still cross-checked against the
// mapstructure tags in the service's and pkg's source (TestFallbackNamesHaveTags).
var fallbackEnv = map[string][]string{
	"anomaly-classifier": {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"},
	"slack-notifier":     {"SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL"},
}

var commonEnv = []string{
	"KAFKA_BROKERS", "KAFKA_CLIENT_ID", "KAFKA_TLS_ENABLED", "KAFKA_TLS_CA_FILE", "KAFKA_TLS_CERT_FILE",
	"KAFKA_TLS_KEY_FILE", "KAFKA_TLS_INSECURE_SKIP_VERIFY", "KAFKA_SASL_MECHANISM",
	"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "LOG_LEVEL", "LOG_FORMAT",
}

// envSource says where a service's names came from (for failure messages).
type envSource struct {
	names map[string]bool
	from  string
}

// serviceEnv returns the environment names a service reads: the keys of its root
// config struct (cmd/<service>/*.go, type Config) walked through every nested struct of
// the service and of pkg (key a.b_c → env A_B_C), plus the Go runtime's names. Without a
// root config yet, the names documented in docs/<service>.md plus fallbackEnv.
func serviceEnv(t *testing.T, service string) envSource {
	t.Helper()
	idx := indexStructs(t, filepath.Join(repoRoot, "services", service), filepath.Join(repoRoot, "pkg"))
	names := map[string]bool{}
	for _, n := range runtimeEnv {
		names[n] = true
	}
	if root, ok := idx.types["main.Config"]; ok {
		for _, k := range idx.keys(root, "main", "", 0) {
			names[envName(k)] = true
		}
		return envSource{names: names, from: "services/" + service + "/cmd/" + service + " type Config"}
	}
	for _, n := range commonEnv {
		names[n] = true
	}
	for _, n := range fallbackEnv[service] {
		names[n] = true
	}
	for n := range docEnv(t, service) {
		names[n] = true
	}
	return envSource{names: names, from: "fallback list + docs/" + service + ".md (no type Config in cmd/" + service + " yet)"}
}

func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// structIndex maps "pkgname.Type" to struct types found in the scanned trees, and each
// file's import names (alias or last path element) to package names.
type structIndex struct {
	types   map[string]*ast.StructType
	imports map[*ast.StructType]map[string]string
	aliases map[string]typeAlias // "pkg.Name" of `type Name = other.Type`
}

type typeAlias struct {
	target ast.Expr
	pkg    string
	imps   map[string]string
}

func indexStructs(t *testing.T, dirs ...string) *structIndex {
	t.Helper()
	idx := &structIndex{types: map[string]*ast.StructType{}, imports: map[*ast.StructType]map[string]string{}, aliases: map[string]typeAlias{}}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil // a file mid-edit by its owner: not ours to judge
			}
			imps := map[string]string{}
			for _, im := range f.Imports {
				p, _ := strconv.Unquote(im.Path.Value)
				name := p[strings.LastIndex(p, "/")+1:]
				if im.Name != nil {
					imps[im.Name.Name] = name
				} else {
					imps[name] = name
				}
			}
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok {
					continue
				}
				for _, spec := range gd.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					if ts.Assign.IsValid() { // type X = pkg.Y: resolved when used
						idx.aliases[f.Name.Name+"."+ts.Name.Name] = typeAlias{target: ts.Type, pkg: f.Name.Name, imps: imps}
						continue
					}
					if st, ok := ts.Type.(*ast.StructType); ok {
						// The root type is only taken from cmd/<service>.
						if f.Name.Name == "main" && !strings.Contains(filepath.ToSlash(path), "/cmd/") {
							continue
						}
						idx.types[f.Name.Name+"."+ts.Name.Name] = st
						idx.imports[st] = imps
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("scan %s: %v", dir, err)
		}
	}
	return idx
}

// keys lists the dotted mapstructure keys under st (pkg is st's package name).
func (idx *structIndex) keys(st *ast.StructType, pkg, prefix string, depth int) []string {
	if depth > 8 {
		return nil
	}
	var out []string
	for _, f := range st.Fields.List {
		if f.Tag == nil {
			continue
		}
		tagStr, _ := strconv.Unquote(f.Tag.Value)
		tag := reflect.StructTag(tagStr).Get("mapstructure")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (name == "" && !strings.Contains(opts, "squash")) {
			continue
		}
		key := prefix + name
		if strings.Contains(opts, "squash") {
			key = strings.TrimSuffix(prefix, ".")
		}
		if nested, npkg := idx.resolve(f.Type, pkg, st); nested != nil {
			p := key + "."
			if key == "" {
				p = ""
			}
			out = append(out, idx.keys(nested, npkg, p, depth+1)...)
			continue
		}
		out = append(out, key)
		if secretDesc.MatchString(reflect.StructTag(tagStr).Get("desc")) {
			out = append(out, key+"_file") // pkg/config also reads a secret from the file <ENV>_FILE names
		}
	}
	return out
}

// secretDesc marks a secret key in its desc tag, as pkg/config reads it.
var secretDesc = regexp.MustCompile(`\(secret\b`)

func (idx *structIndex) resolve(e ast.Expr, pkg string, owner *ast.StructType) (*ast.StructType, string) {
	return idx.resolveIn(e, pkg, idx.imports[owner], 0)
}

func (idx *structIndex) resolveIn(e ast.Expr, pkg string, imps map[string]string, depth int) (*ast.StructType, string) {
	if depth > 4 {
		return nil, ""
	}
	lookup := func(p, name string) (*ast.StructType, string) {
		if st := idx.types[p+"."+name]; st != nil {
			return st, p
		}
		if a, ok := idx.aliases[p+"."+name]; ok {
			return idx.resolveIn(a.target, a.pkg, a.imps, depth+1)
		}
		return nil, ""
	}
	switch x := e.(type) {
	case *ast.StarExpr:
		return idx.resolveIn(x.X, pkg, imps, depth)
	case *ast.Ident:
		return lookup(pkg, x.Name)
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		if !ok {
			return nil, ""
		}
		return lookup(imps[id.Name], x.Sel.Name)
	case *ast.StructType:
		return x, pkg
	}
	return nil, ""
}

var docEnvRE = regexp.MustCompile("`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")

// docEnv returns the env names in the tables of a service's docs.
func docEnv(t *testing.T, service string) map[string]bool {
	t.Helper()
	docs := map[string][]string{
		"log-producer":       {"log-producer.md"},
		"anomaly-classifier": {"anomaly-classifier.md", "llm.md"},
		"slack-notifier":     {"slack-notifier.md"},
	}[service]
	out := map[string]bool{}
	for _, d := range docs {
		b, err := os.ReadFile(filepath.Join(repoRoot, "docs", d))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "|") {
				continue
			}
			for _, m := range docEnvRE.FindAllStringSubmatch(line, -1) {
				out[m[1]] = true
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestServiceEnvKnowsTheBasics guards the extractor itself: whatever the source of the
// names, each service must read the Kafka and logging settings every service shares (docs/deploy.md).
func TestServiceEnvKnowsTheBasics(t *testing.T) {
	for _, s := range services {
		t.Run(s, func(t *testing.T) {
			env := serviceEnv(t, s)
			t.Logf("%s: %d names from %s", s, len(env.names), env.from)
			for _, n := range []string{"KAFKA_BROKERS", "KAFKA_TLS_ENABLED", "KAFKA_SASL_MECHANISM", "LOG_LEVEL", "LOG_FORMAT"} {
				if !env.names[n] {
					t.Errorf("%s does not read %s (names from %s: %v)", s, n, env.from, sortedKeys(env.names))
				}
			}
		})
	}
}

// TestFallbackNamesHaveTags keeps the fallback list honest: each name must end in a
// mapstructure tag present in the service's source (once it has config code).
func TestFallbackNamesHaveTags(t *testing.T) {
	for s, names := range fallbackEnv {
		tags := map[string]bool{}
		idx := indexStructs(t, filepath.Join(repoRoot, "services", s))
		for _, st := range idx.types {
			for _, f := range st.Fields.List {
				if f.Tag == nil {
					continue
				}
				tagStr, _ := strconv.Unquote(f.Tag.Value)
				if n, _, _ := strings.Cut(reflect.StructTag(tagStr).Get("mapstructure"), ","); n != "" {
					tags[envName(n)] = true
				}
			}
		}
		for _, n := range names {
			found := false
			for tag := range tags {
				found = found || n == tag || strings.HasSuffix(n, "_"+tag)
			}
			if len(tags) == 0 {
				t.Logf("%s: no config code yet, fallback %s not cross-checked", s, n)
			} else if !found {
				t.Errorf("%s: fallback name %s matches no mapstructure tag in services/%s", s, n, s)
			}
		}
	}
}

func TestEnvKeysOfProducerMatchItsDocs(t *testing.T) {
	env := serviceEnv(t, "log-producer")
	if !strings.Contains(env.from, "type Config") {
		t.Fatal("services/log-producer/cmd/log-producer: no root config struct (type Config) to derive env names from")
	}
	for n := range docEnv(t, "log-producer") {
		if !env.names[n] {
			t.Errorf("docs/log-producer.md lists %s, which the config struct does not have", n)
		}
	}
	for _, n := range []string{"SOURCES", "GENERATOR_RATE", "HTTP_ADDR", "KAFKA_SASL_PASSWORD"} {
		if !env.names[n] {
			t.Errorf("log-producer: %s missing from the derived names %v", n, sortedKeys(env.names))
		}
	}
}
