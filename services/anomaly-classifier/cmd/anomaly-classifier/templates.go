package main

import (
	"context"
	"fmt"
	"io"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/offline"
	"github.com/logwarden/logwarden/services/anomaly-classifier/internal/template"
)

type templatesConfig struct {
	In       string          `mapstructure:"in" desc:"file of lines (default stdin)"`
	Template template.Config `mapstructure:"template"`
}

func (c *templatesConfig) Validate() error { return config.Keyed("", c.Template.Validate()) }

// runTemplates prints "template_id<TAB>template" for every input line.
func runTemplates(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg := &templatesConfig{Template: template.DefaultConfig()}
	rest, err := config.Load(cfg, config.Options{Name: "anomaly-classifier templates", Args: args, Getenv: getenv, Usage: stderr})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("templates: unexpected arguments %q", rest)
	}
	in, closeIn, err := openInput(cfg.In, stdin)
	if err != nil {
		return err
	}
	defer closeIn()
	return offline.Templates(ctx, cfg.Template, in, stdout)
}
