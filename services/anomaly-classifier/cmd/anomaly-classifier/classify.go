package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/engine"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/llm"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/offline"
)

// offlineConfig is the configuration of classify and eval: the engine's keys
// (as in the service), the input and the optional LLM stage.
type offlineConfig struct {
	In     string        `mapstructure:"in" desc:"input (classify: a file of lines, default stdin; eval: a dataset directory)"`
	LLM    bool          `mapstructure:"llm" desc:"run the LLM stage too (configured by the openai.* keys)"`
	State  string        `mapstructure:"state" desc:"start from this learnt state (anomaly-classifier learn, the service's state_file)"`
	Engine engine.Config `mapstructure:",squash"`
	OpenAI llm.Config    `mapstructure:"openai"`
}

func (c *offlineConfig) Validate() error {
	if err := config.Keyed("", c.Engine.Validate()); err != nil {
		return err
	}
	if c.LLM {
		return c.OpenAI.Validate()
	}
	return nil
}

func loadOffline(name string, args []string, getenv func(string) string, stderr io.Writer) (*offlineConfig, error) {
	cfg := &offlineConfig{Engine: engine.DefaultConfig(), OpenAI: llm.DefaultConfig()}
	rest, err := config.Load(cfg, config.Options{Name: "anomaly-classifier " + name, Args: args, Getenv: getenv, Usage: stderr})
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%s: unexpected arguments %q", name, rest)
	}
	return cfg, nil
}

// newStage builds the LLM stage when --llm is set (nil otherwise).
func newStage(cfg *offlineConfig, stderr io.Writer) (*llm.Stage, error) {
	if !cfg.LLM {
		return nil, nil
	}
	if !cfg.OpenAI.Enabled() {
		return nil, errors.New("--llm needs an API key: OPENAI_API_KEY in the environment or .env")
	}
	st, err := llm.New(cfg.OpenAI, zap.NewNop(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("llm stage: %w", err)
	}
	fmt.Fprintln(stderr, st.Describe())
	return st, nil
}

// openInput opens the file named by --in, or returns stdin for "" and "-". The error
// names the file.
func openInput(name string, stdin io.Reader) (io.Reader, func(), error) {
	if name == "" || name == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--in: %w", err)
	}
	return f, func() { _ = f.Close() }, nil
}

// runClassify: raw lines in, one JSON verdict per line out, in order.
func runClassify(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadOffline("classify", args, getenv, stderr)
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg)
	if err != nil {
		return err
	}
	in, closeIn, err := openInput(cfg.In, stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	st, err := newStage(cfg, stderr)
	if err != nil {
		return err
	}
	if st == nil {
		return offline.Classify(ctx, eng, in, stdout, nil)
	}
	defer st.Close()
	if err := offline.Classify(ctx, eng, in, stdout, st); err != nil {
		return err
	}
	fmt.Fprintln(stderr, st.Stats())
	return nil
}
