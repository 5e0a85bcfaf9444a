// Package corpus is the labelled command corpus the rule pack is measured on: attack
// command lines per MITRE ATT&CK technique, written from the public technique
// descriptions (attacks.tsv), and routine administration commands (admin.tsv). Each file
// is split into a "tune" half, which rule authors may look at, and a "heldout" half,
// which they must not tune on; reports list the held-out half first.
//
// File format: one entry per line, "split<TAB>technique<TAB>command"; lines starting
// with # are comments. Admin entries use the technique "admin".
package corpus

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed attacks.tsv
var attacks string

//go:embed admin.tsv
var admin string

// Entry is one labelled command.
type Entry struct {
	Split     string // tune or heldout
	Technique string // ATT&CK technique id, or "admin"
	Command   string
	Line      int
}

// Attacks returns the attack entries.
func Attacks() []Entry { return mustParse("attacks.tsv", attacks) }

// Admin returns the routine admin entries.
func Admin() []Entry { return mustParse("admin.tsv", admin) }

func mustParse(name, s string) []Entry {
	es, err := Parse(name, s)
	if err != nil {
		panic(err) // embedded and tested
	}
	return es
}

// Parse reads a corpus file.
func Parse(name, s string) ([]Entry, error) {
	var out []Entry
	for i, l := range strings.Split(s, "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		parts := strings.SplitN(l, "\t", 3)
		if len(parts) != 3 || (parts[0] != "tune" && parts[0] != "heldout") || parts[2] == "" {
			return nil, fmt.Errorf("%s:%d: want split<TAB>technique<TAB>command", name, i+1)
		}
		out = append(out, Entry{Split: parts[0], Technique: parts[1], Command: parts[2], Line: i + 1})
	}
	return out, nil
}

// Score is the outcome on one split.
type Score struct {
	Split        string
	PerTechnique []TechniqueScore
	Attacks      int
	Detected     int
	Admin        int
	AdminFlagged int
	Missed       []Entry // attack entries not flagged
	FalseAlarms  []Entry // admin entries flagged
}

// TechniqueScore is the recall of one technique.
type TechniqueScore struct {
	Technique      string
	Total, Flagged int
}

// Recall is the share of attack commands flagged.
func (s Score) Recall() float64 { return ratio(s.Detected, s.Attacks) }

// AdminShare is the share of admin commands flagged.
func (s Score) AdminShare() float64 { return ratio(s.AdminFlagged, s.Admin) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Evaluate scores flagged (a command → flagged?) on one split ("" = both).
func Evaluate(split string, flagged func(cmd string) bool) Score {
	s := Score{Split: split}
	per := map[string]*TechniqueScore{}
	for _, e := range Attacks() {
		if split != "" && e.Split != split {
			continue
		}
		t := per[e.Technique]
		if t == nil {
			t = &TechniqueScore{Technique: e.Technique}
			per[e.Technique] = t
		}
		t.Total++
		s.Attacks++
		if flagged(e.Command) {
			t.Flagged++
			s.Detected++
		} else {
			s.Missed = append(s.Missed, e)
		}
	}
	for _, e := range Admin() {
		if split != "" && e.Split != split {
			continue
		}
		s.Admin++
		if flagged(e.Command) {
			s.AdminFlagged++
			s.FalseAlarms = append(s.FalseAlarms, e)
		}
	}
	for _, t := range per {
		s.PerTechnique = append(s.PerTechnique, *t)
	}
	sort.Slice(s.PerTechnique, func(i, j int) bool { return s.PerTechnique[i].Technique < s.PerTechnique[j].Technique })
	return s
}
