package sigmarules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/sigma"
)

func TestZZPats(t *testing.T) {
	d, _ := NewDetector("", "", 100)
	for _, src := range []sigma.Source{{Product: "linux", Services: "sshd,auth,syslog"}, {Product: "linux"}} {
		pats := d.matcher.DebugPatterns(src, "")
		minl := 100
		two, three := map[string]bool{}, map[string]bool{}
		for _, p := range pats {
			minl = min(minl, len(p))
			two[p[:2]] = true
			if len(p) >= 3 {
				three[p[:3]] = true
			}
		}
		fmt.Println("min len", minl, "pairs", len(two), "triples", len(three))
		files, _ := filepath.Glob("../offline/testdata/loghub/*.log")
		files = append(files, "../engine/testdata/tutorial.log")
		for _, f := range files {
			b, _ := os.ReadFile(f)
			s := strings.ToLower(string(b))
			p2, p3 := 0, 0
			for i := 0; i+2 < len(s); i++ {
				if two[s[i:i+2]] {
					p2++
				}
				if three[s[i:i+3]] {
					p3++
				}
			}
			fmt.Printf("%-40s %.3f %.3f\n", filepath.Base(f), float64(p2)/float64(len(s)), float64(p3)/float64(len(s)))
		}
	}
}
