package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func runArgs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	return out.String() + errb.String(), err
}

func TestRulesCheckPack(t *testing.T) {
	out, err := runArgs(t, "rules", "check")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`(\d+) rules loaded \((\d+) SigmaHQ\), (\d+) skipped \(([^)]*)\), 0 errors`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary:\n%s", out[max(0, len(out)-2000):])
	}
	sigmahq, _ := strconv.Atoi(m[2])
	skipped, _ := strconv.Atoi(m[3])
	// every vendored rule file loads or is listed with its reason
	if sigmahq+skipped != 248 || !strings.Contains(out, `unknown field "LogonId"`) {
		t.Fatalf("SigmaHQ %d loaded + %d skipped != 248", sigmahq, skipped)
	}
}

func TestRulesCheckAndTestDir(t *testing.T) {
	dir := t.TempDir()
	good := "title: Mine\nname: mine\nlogsource: {product: linux, category: process_creation}\ndetection:\n    sel: {Image|endswith: /frobnicate}\n    condition: sel\nlevel: high\nlogwarden:\n    tests:\n        match: [{command: frobnicate --all}]\n        nomatch: [{command: ls}]\n"
	skip := "title: Win\nlogsource: {product: windows}\ndetection:\n    sel: {EventID: 1}\n    condition: sel\n"
	os.WriteFile(filepath.Join(dir, "mine.yml"), []byte(good), 0o600)
	os.WriteFile(filepath.Join(dir, "win.yml"), []byte(skip), 0o600)
	out, err := runArgs(t, "rules", "check", dir)
	if err != nil || !strings.Contains(out, "1 rules loaded (0 SigmaHQ), 1 skipped (log source not produced 1), 0 errors") ||
		!strings.Contains(out, "win.yml:1: Win: log source product=windows is not produced by logwarden") {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := runArgs(t, "rules", "test", dir); err != nil || !strings.Contains(out, "2 examples, 0 failed") {
		t.Fatalf("%v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "mine.yml"), []byte(strings.Replace(good, "frobnicate --all", "other", 1)), 0o600)
	if out, err := runArgs(t, "rules", "test", dir); err == nil || !strings.Contains(out, "should match map[command:other]") {
		t.Fatalf("%v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("title: Bad\nlogsource: {product: linux}\ndetection:\n    sel: {Action: x}\n    condition: sel or missing\n"), 0o600)
	if out, err := runArgs(t, "rules", "check", dir); err == nil || !strings.Contains(out, "bad.yml:1: Bad: condition uses undefined search identifier \"missing\"") {
		t.Fatalf("%v\n%s", err, out)
	}
}

func TestRulesTestPack(t *testing.T) {
	out, err := runArgs(t, "rules", "test")
	if err != nil || !strings.Contains(out, " 0 failed") {
		t.Fatalf("%v\n%s", err, out)
	}
}

// The corpus figures must not regress: held-out recall ≥ 0.9, admin ≤ 5 %.
func TestEvalCorpus(t *testing.T) {
	out, err := runArgs(t, "eval", "corpus")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`attack recall (\d+)/(\d+) = [0-9.]+; admin commands flagged (\d+)/(\d+)`)
	ms := re.FindAllStringSubmatch(out, -1)
	if len(ms) != 2 || !strings.HasPrefix(out, "== heldout half") {
		t.Fatalf("output:\n%s", out)
	}
	for _, m := range ms {
		d, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		fa, _ := strconv.Atoi(m[3])
		an, _ := strconv.Atoi(m[4])
		if float64(d) < 0.9*float64(n) || float64(fa) > 0.05*float64(an) {
			t.Errorf("recall %d/%d, admin flagged %d/%d", d, n, fa, an)
		}
	}
}
