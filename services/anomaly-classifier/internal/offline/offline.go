package offline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/logwarden/logwarden/pkg/logparse"
	"github.com/logwarden/logwarden/pkg/logwardenpb"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

// Stage is the LLM stage as used offline (*llm.Stage).
type Stage interface {
	Consider(v *logwardenpb.Verdict, newTemplate bool) llm.Decision
	Flush(ctx context.Context) ([]llm.Opinion, error)
}

const maxLine = 1 << 20

func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return sc
}

// Finding is the JSON form of a finding.
type Finding struct {
	Detector string  `json:"detector"`
	RuleID   string  `json:"rule_id"`
	Severity string  `json:"severity"`
	Score    float64 `json:"score"`
	Title    string  `json:"title"`
	Reason   string  `json:"reason"`
}

// Line is the JSON object classify prints per input line.
type Line struct {
	Line       int       `json:"line"`
	Anomalous  bool      `json:"anomalous"`
	Score      float64   `json:"score"`
	Severity   string    `json:"severity"`
	Level      string    `json:"level,omitempty"` // the line's own level, when it states one
	TemplateID string    `json:"template_id"`
	Template   string    `json:"template"`
	Findings   []Finding `json:"findings"`
}

// Severity is the lower-case name of s ("high"), "" when unspecified.
func Severity(s logwardenpb.Severity) string {
	if s == logwardenpb.Severity_SEVERITY_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "SEVERITY_"))
}

// Level is the lower-case name of a line's level ("error"), "" when unspecified.
func Level(l logwardenpb.LogLevel) string {
	if l == logwardenpb.LogLevel_LOG_LEVEL_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(l.String(), "LOG_LEVEL_"))
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func toLine(n int, v *logwardenpb.Verdict) Line {
	l := Line{Line: n, Anomalous: v.GetAnomalous(), Score: round(v.GetScore()), Severity: Severity(v.GetSeverity()), Level: Level(v.GetEvent().GetLevel()),
		TemplateID: v.GetTemplateId(), Template: v.GetTemplate(), Findings: []Finding{}}
	for _, f := range v.GetFindings() {
		l.Findings = append(l.Findings, Finding{Detector: f.GetDetector(), RuleID: f.GetRuleId(), Severity: Severity(f.GetSeverity()),
			Score: round(f.GetScore()), Title: f.GetTitle(), Reason: f.GetReason()})
	}
	return l
}

type item struct {
	v   *logwardenpb.Verdict
	new bool
}

// run parses and classifies every line of in, calling emit in order.
// With a stage, all verdicts are kept, the stage is flushed, opinions merged,
// then emitted; before is called with each result before merging.
func run(ctx context.Context, eng *engine.Engine, in io.Reader, stage Stage, before func(n int, res engine.Result), emit func(n int, v *logwardenpb.Verdict) error) error {
	p := logparse.New(logparse.Options{})
	sc := newScanner(in)
	var kept []item
	n := 0
	for sc.Scan() {
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		ev := &logwardenpb.LogEvent{Id: fmt.Sprintf("line-%d", n), Source: "offline"}
		p.Parse(sc.Text(), ev)
		res := eng.Process(ev)
		if before != nil {
			before(n, res)
		}
		if stage == nil {
			if err := emit(n, res.Verdict); err != nil {
				return err
			}
			continue
		}
		stage.Consider(res.Verdict, res.NewTemplate || res.Candidate)
		kept = append(kept, item{v: res.Verdict, new: res.NewTemplate})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input (line %d): %w", n+1, err)
	}
	if stage == nil {
		return nil
	}
	ops, err := stage.Flush(ctx)
	if err != nil {
		return fmt.Errorf("llm flush: %w", err)
	}
	byID := make(map[string]*logwardenpb.Verdict, len(kept))
	for _, it := range kept {
		byID[it.v.GetEvent().GetId()] = it.v
	}
	for _, o := range ops {
		if v := byID[o.EventID]; v != nil {
			llm.Merge(v, o)
		}
	}
	for i, it := range kept {
		if err := emit(i+1, it.v); err != nil {
			return err
		}
	}
	return nil
}

// Learn runs every line of in through eng (the same parsing as Classify, no output) and
// returns the number of lines read.
func Learn(ctx context.Context, eng *engine.Engine, in io.Reader) (int, error) {
	lines := 0
	err := run(ctx, eng, in, nil, nil, func(n int, _ *logwardenpb.Verdict) error {
		lines = n
		return nil
	})
	return lines, err
}

// Classify writes one JSON object per input line, in order. stage may be nil.
func Classify(ctx context.Context, eng *engine.Engine, in io.Reader, out io.Writer, stage Stage) error {
	w := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := run(ctx, eng, in, stage, nil, func(n int, v *logwardenpb.Verdict) error {
		return enc.Encode(toLine(n, v))
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// Templates writes "template_id<TAB>template" per input line (the line itself
// is mined, not parsed).
func Templates(ctx context.Context, cfg template.Config, in io.Reader, out io.Writer) error {
	m := template.New(cfg)
	w := bufio.NewWriterSize(out, 64<<10)
	sc := newScanner(in)
	n := 0
	for sc.Scan() {
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r := m.Add(sc.Text())
		w.WriteString(r.ID)
		w.WriteByte('\t')
		w.WriteString(r.Template)
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input (line %d): %w", n+1, err)
	}
	return w.Flush()
}
