package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/rulepack"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigmarules"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/taxonomy"
)

const rulesUsage = `usage: anomaly-classifier rules check [DIR]   lint Sigma rules: what loads, what is skipped and why
       anomaly-classifier rules test [DIR]    run the rules' examples (logwarden.tests)

Without DIR both work on the shipped pack; with DIR, on DIR's rules (loaded together
with the pack, so correlations may refer to shipped rules).
`

// runRules is `anomaly-classifier rules check|test [DIR]`.
func runRules(_ context.Context, args []string, _ func(string) string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || len(args) > 2 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, rulesUsage)
		return errors.New("rules: want check or test, and at most one directory")
	}
	dir := ""
	if len(args) == 2 {
		dir = args[1]
	}
	switch args[0] {
	case "check":
		return rulesCheck(dir, stdout)
	case "test":
		return rulesTest(dir, stdout)
	}
	fmt.Fprint(stderr, rulesUsage)
	return fmt.Errorf("rules: unknown command %q", args[0])
}

// inScope reports whether a rule file is reported: DIR's files, or the pack's.
func inScope(dir, file string) bool {
	if dir == "" {
		return strings.HasPrefix(file, rulepack.Name)
	}
	rel, err := filepath.Rel(dir, file)
	return err == nil && !strings.HasPrefix(rel, "..")
}

func rulesCheck(dir string, w io.Writer) error {
	files := rulepack.Files()
	if dir != "" {
		user, err := sigmarules.ReadDir(dir)
		if err != nil {
			return err
		}
		files = append(files, user...)
	}
	rs, errs := sigma.Load(files, taxonomy.Options())
	type fileStat struct{ loaded, skipped, errors int }
	stats := map[string]*fileStat{}
	stat := func(f string) *fileStat {
		if stats[f] == nil {
			stats[f] = &fileStat{}
		}
		return stats[f]
	}
	for _, f := range files {
		if inScope(dir, f.Name) {
			stat(f.Name)
		}
	}
	loaded, vendored := 0, 0
	for _, r := range rs.Rules {
		if inScope(dir, r.File) {
			stat(r.File).loaded++
			loaded++
			if rulepack.IsVendored(r.File) {
				vendored++
			}
		}
	}
	reasons := map[string]int{}
	var skipped, bad []sigma.Problem
	for _, p := range rs.Skipped {
		if inScope(dir, p.File) {
			stat(p.File).skipped++
			skipped = append(skipped, p)
			reasons[reasonKind(p.Reason)]++
		}
	}
	for _, p := range errs {
		if inScope(dir, p.File) {
			stat(p.File).errors++
			bad = append(bad, p)
		}
	}
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "file\tloaded\tskipped\terrors")
	for _, n := range names {
		s := stats[n]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", n, s.loaded, s.skipped, s.errors)
	}
	tw.Flush()
	if len(skipped) > 0 {
		fmt.Fprintln(w, "\nskipped (unsupported features; the rest of the rules run):")
		for _, p := range skipped {
			fmt.Fprintf(w, "  %s\n", p.Error())
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(w, "\nerrors (the classifier refuses to start with these):")
		for _, p := range bad {
			fmt.Fprintf(w, "  %s\n", p.Error())
		}
	}
	if dir == "" {
		fmt.Fprintln(w, "\nlevel overrides of vendored rules (internal/rulepack/tuning.yml):")
		for _, o := range rulepack.Tuning() {
			title := o.ID
			if r := rs.Rule(o.ID); r != nil {
				title = r.Title
			}
			fmt.Fprintf(w, "  %s → %s: %s\n", title, o.Level, o.Reason)
		}
	}
	kinds := make([]string, 0, len(reasons))
	for k, n := range reasons {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "\n%d rules loaded (%d SigmaHQ), %d skipped (%s), %d errors\n", loaded, vendored, len(skipped), strings.Join(kinds, ", "), len(bad))
	if len(bad) > 0 {
		return fmt.Errorf("rules check: %d errors", len(bad))
	}
	return nil
}

// reasonKind groups skip reasons for the summary.
func reasonKind(r string) string {
	switch {
	case strings.HasPrefix(r, "unknown field"), strings.Contains(r, ": unknown field"):
		return "unknown field"
	case strings.Contains(r, "modifier"):
		return "unsupported modifier"
	case strings.Contains(r, "log source"):
		return "log source not produced"
	case strings.Contains(r, "regular expression"):
		return "regular expression"
	case strings.Contains(r, "keyword search"):
		return "keywords without text"
	case strings.Contains(r, "correlation"), strings.Contains(r, "refers to"):
		return "correlation"
	}
	return "other"
}

func rulesTest(dir string, w io.Writer) error {
	pack, err := sigmarules.Load(dir)
	if err != nil {
		return err
	}
	if dir != "" {
		// report only the directory's rules
		var own []*sigma.Rule
		for _, r := range pack.Rules.Rules {
			if inScope(dir, r.File) {
				own = append(own, r)
			}
		}
		pack = &sigmarules.Pack{Rules: pack.Rules, Skipped: pack.Skipped, Only: own}
	}
	n, fails := sigmarules.RunTests(pack)
	for _, f := range fails {
		fmt.Fprintln(w, "FAIL", f)
	}
	fmt.Fprintf(w, "%d examples, %d failed\n", n, len(fails))
	if len(fails) > 0 {
		return fmt.Errorf("rules test: %d failed", len(fails))
	}
	return nil
}
