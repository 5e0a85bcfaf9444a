package service

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/logwardenpb"
)

// Summarizer writes an alert's one-paragraph summary: the LLM stage with
// openai.summaries on.
type Summarizer interface {
	Summarize(ctx context.Context, a *logwardenpb.Alert) (string, error)
}

// DefaultSummaryTimeout is the summary time box when HandlerOptions leave it zero.
const DefaultSummaryTimeout = 5 * time.Second

// summaryMinSeverity: lower alerts are not worth a call.
const summaryMinSeverity = logwardenpb.Severity_SEVERITY_MEDIUM

// summarize asks for the summaries of the alerts of rs (medium and above) at once,
// at most summaryConcurrency calls in flight, and waits for them no longer than the
// time box: an alert whose summary did not come in time, or failed, goes out without
// one. The model's text lands in Alert.llm_summary only; it cannot touch the title,
// severity, findings or the rule-written summary. It returns how long it waited.
func (h *Handler) summarize(ctx context.Context, rs []result) time.Duration {
	if h.summarizer == nil {
		return 0
	}
	var todo []*logwardenpb.Alert
	for _, r := range rs {
		for _, a := range r.alerts {
			if a.GetSeverity() >= summaryMinSeverity && a.GetLlmSummary() == "" {
				todo = append(todo, a)
			}
		}
	}
	if len(todo) == 0 {
		return 0
	}
	start := h.now()
	ctx, cancel := context.WithTimeout(ctx, h.summaryTimeout)
	defer cancel()
	sem := make(chan struct{}, h.summaryConcurrency)
	var wg sync.WaitGroup
	for _, a := range todo {
		wg.Go(func() { // owned here: waited for below, ends with ctx
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				h.metrics.summary("missing")
				return
			}
			defer func() { <-sem }()
			text, err := h.summarizer.Summarize(ctx, a)
			if err != nil || text == "" {
				h.log.Debug("alert goes out without an LLM summary", zap.String("alert", a.GetId()), zap.Error(err))
				h.metrics.summary("missing")
				return
			}
			a.LlmSummary = text // this goroutine's alert only
			h.metrics.summary("added")
		})
	}
	wg.Wait()
	return h.now().Sub(start)
}
