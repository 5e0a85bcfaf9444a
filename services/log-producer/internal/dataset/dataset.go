package dataset

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/logwarden/logwarden/services/log-producer/internal/generator"
)

// Options of one dataset.
type Options struct {
	Dir         string
	Count       int
	Seed        int64
	AnomalyRate float64
	Users       int
	Scenarios   []string
}

// Meta is meta.json.
type Meta struct {
	Seed             int64                     `json:"seed"`
	Count            int                       `json:"count"`
	Users            int                       `json:"users"`
	AnomalyRate      float64                   `json:"anomaly_rate"`
	AnomalousLines   int                       `json:"anomalous_lines"`
	ActualRate       float64                   `json:"actual_anomaly_rate"`
	Start            time.Time                 `json:"start"`
	End              time.Time                 `json:"end"`
	Scenarios        []generator.ScenarioStats `json:"scenarios"`
	Format           string                    `json:"format"`
	GeneratorVersion int                       `json:"generator_version"`
}

// Label is one line of labels.jsonl.
type Label struct {
	Line       int    `json:"line"`
	Anomalous  bool   `json:"anomalous"`
	Scenario   string `json:"scenario"`
	IncidentID string `json:"incident_id"`
	Entity     string `json:"entity"`
}

// Progress is told how many of the events are written; nil is allowed.
type Progress func(done, total int)

// Write generates opts.Count events into opts.Dir (created if needed) and returns the meta.
func Write(ctx context.Context, opts Options, progress Progress) (Meta, error) {
	if opts.Dir == "" {
		return Meta{}, errors.New("out: a directory is required")
	}
	if opts.Count < 1 {
		return Meta{}, fmt.Errorf("count: must be ≥ 1, got %d", opts.Count)
	}
	g, err := generator.New(generator.Options{Seed: opts.Seed, Users: opts.Users, AnomalyRate: opts.AnomalyRate, Scenarios: opts.Scenarios})
	if err != nil {
		return Meta{}, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return Meta{}, fmt.Errorf("out: %w", err)
	}
	lines, err := create(filepath.Join(opts.Dir, "lines.log"))
	if err != nil {
		return Meta{}, err
	}
	defer lines.close()
	labels, err := create(filepath.Join(opts.Dir, "labels.jsonl"))
	if err != nil {
		return Meta{}, err
	}
	defer labels.close()

	meta := Meta{Seed: opts.Seed, Count: opts.Count, Users: len(g.Users()), AnomalyRate: opts.AnomalyRate,
		Format: "tutorial", GeneratorVersion: 1}
	buf := make([]byte, 0, 512)
	every := max(opts.Count/200, 1)
	for i := 1; i <= opts.Count; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return Meta{}, err
			}
		}
		ev := g.Next()
		if i == 1 {
			meta.Start = ev.Time.Truncate(time.Second)
		}
		meta.End = ev.Time.Truncate(time.Second)
		buf = append(ev.AppendLine(buf[:0]), '\n')
		if _, err := lines.w.Write(buf); err != nil {
			return Meta{}, fmt.Errorf("write lines.log: %w", err)
		}
		buf = appendLabel(buf[:0], Label{Line: i, Anomalous: ev.Label.Anomalous, Scenario: ev.Label.Scenario,
			IncidentID: ev.Label.IncidentID, Entity: ev.User})
		if _, err := labels.w.Write(buf); err != nil {
			return Meta{}, fmt.Errorf("write labels.jsonl: %w", err)
		}
		if progress != nil && (i%every == 0 || i == opts.Count) {
			progress(i, opts.Count)
		}
	}
	if err := lines.close(); err != nil {
		return Meta{}, err
	}
	if err := labels.close(); err != nil {
		return Meta{}, err
	}
	_, meta.AnomalousLines = g.Emitted()
	meta.ActualRate = float64(meta.AnomalousLines) / float64(opts.Count)
	meta.Scenarios = g.Stats()
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return Meta{}, err
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, "meta.json"), append(b, '\n'), 0o644); err != nil {
		return Meta{}, fmt.Errorf("write meta.json: %w", err)
	}
	return meta, nil
}

// appendLabel writes l as one JSON line, field order as documented, without reflection.
func appendLabel(b []byte, l Label) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(l.Line), 10)
	b = append(b, `,"anomalous":`...)
	b = strconv.AppendBool(b, l.Anomalous)
	b = append(b, `,"scenario":`...)
	b = appendJSONString(b, l.Scenario)
	b = append(b, `,"incident_id":`...)
	b = appendJSONString(b, l.IncidentID)
	b = append(b, `,"entity":`...)
	b = appendJSONString(b, l.Entity)
	return append(b, "}\n"...)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // strings always marshal
	return append(b, q...)
}

type file struct {
	f      *os.File
	w      *bufio.Writer
	closed bool
}

func create(path string) (*file, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &file{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

func (f *file) close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.w.Flush()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", f.f.Name(), err)
	}
	return nil
}

// Bar draws a progress bar on w (a terminal) as "\r[#####.....]  45% 45000/100000".
func Bar(w io.Writer) Progress {
	return func(done, total int) {
		const width = 30
		n := done * width / total
		bar := make([]byte, width)
		for i := range bar {
			if i < n {
				bar[i] = '#'
			} else {
				bar[i] = '.'
			}
		}
		fmt.Fprintf(w, "\r[%s] %3d%% %d/%d", bar, done*100/total, done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
