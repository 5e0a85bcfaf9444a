package template

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loghubFloor is the measured grouping accuracy per system with DefaultConfig
// (a regression drops below it).
var loghubFloor = map[string]float64{"HDFS": 0.99, "Apache": 0.99, "OpenSSH": 0.99, "Zookeeper": 0.98}

func readLoghub(t testing.TB, system string) (ids, lines []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "loghub", system+".tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		id, line, _ := strings.Cut(sc.Text(), "\t")
		ids = append(ids, id)
		lines = append(lines, line)
	}
	return ids, lines
}

// GroupingAccuracy is the share of lines whose predicted group (lines sharing
// its template id) is exactly its true group (lines sharing its EventId).
func GroupingAccuracy(truth, pred []string) float64 {
	byTruth := map[string][]int{}
	byPred := map[string][]int{}
	for i := range truth {
		byTruth[truth[i]] = append(byTruth[truth[i]], i)
		byPred[pred[i]] = append(byPred[pred[i]], i)
	}
	ok := 0
	for _, lines := range byPred {
		tg := byTruth[truth[lines[0]]]
		if len(tg) != len(lines) {
			continue
		}
		same := true
		for _, i := range lines {
			if truth[i] != truth[lines[0]] {
				same = false
				break
			}
		}
		if same {
			ok += len(lines)
		}
	}
	return float64(ok) / float64(len(truth))
}

func TestLoghubGroupingAccuracy(t *testing.T) {
	systems := []string{"HDFS", "Apache", "OpenSSH", "Zookeeper"}
	sum := 0.0
	for _, sys := range systems {
		truth, lines := readLoghub(t, sys)
		m := New(DefaultConfig())
		pred := make([]string, len(lines))
		for i, l := range lines {
			pred[i] = m.Add(l).ID
		}
		ga := GroupingAccuracy(truth, pred)
		sum += ga
		t.Logf("%-10s GA %.4f (%d templates)", sys, ga, m.Len())
		if floor := loghubFloor[sys]; ga < floor {
			t.Errorf("%s: grouping accuracy %.4f below the measured floor %.4f", sys, ga, floor)
		}
	}
	avg := sum / float64(len(systems))
	t.Logf("average GA %.4f", avg)
	if avg < loghubAverageFloor {
		t.Errorf("average grouping accuracy %.4f below %.2f", avg, loghubAverageFloor)
	}
}

const loghubAverageFloor = 0.99
