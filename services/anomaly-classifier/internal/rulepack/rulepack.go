// Package rulepack is the rule pack shipped in the binary: SigmaHQ's Linux rules
// (sigmahq/, unmodified, DRL 1.1, provenance in sigmahq/PROVENANCE.md) and logwarden's
// own Sigma detection and correlation rules (logwarden/), some re-expressing lists of the
// Falco rules (falco/NOTICE.md, Apache-2.0).
package rulepack

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

//go:embed sigmahq logwarden falco tuning.yml
var pack embed.FS

// Name prefixes the paths of embedded files in errors and reports.
const Name = "builtin:"

// Files returns every rule file of the pack (*.yml, *.yaml), sorted by path.
func Files() []sigma.File {
	var files []sigma.File
	for _, dir := range []string{"sigmahq", "logwarden"} {
		fs, err := FromFS(pack, dir, Name)
		if err != nil {
			panic("rulepack: embedded pack unreadable: " + err.Error()) // cannot happen: go:embed checked it
		}
		files = append(files, fs...)
	}
	return files
}

// Override changes the level of a vendored rule (tuning.yml).
type Override struct {
	ID     string `yaml:"id"`
	Level  string `yaml:"level"`
	Reason string `yaml:"reason"`
}

// Tuning returns the level overrides of vendored rules.
func Tuning() []Override {
	b, err := pack.ReadFile("tuning.yml")
	if err != nil {
		panic("rulepack: tuning.yml: " + err.Error())
	}
	var out []Override
	if err := yaml.Unmarshal(b, &out); err != nil {
		panic("rulepack: tuning.yml: " + err.Error()) // tested
	}
	return out
}

// FromFS reads the rule files under dir of fsys, naming them prefix+path.
func FromFS(fsys fs.FS, dir, prefix string) ([]sigma.File, error) {
	var out []sigma.File
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsRuleFile(p) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, sigma.File{Name: prefix + path.Clean(p), Data: b})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// IsRuleFile reports whether a path names a rule file.
func IsRuleFile(p string) bool {
	return strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")
}

// IsVendored reports whether a pack file is one of SigmaHQ's.
func IsVendored(name string) bool { return strings.HasPrefix(name, Name+"sigmahq/") }
