package obs

import (
	"fmt"
	"io"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LogConfig is embedded under the key "log" (LOG_LEVEL, LOG_FORMAT).
type LogConfig struct {
	Level  string `mapstructure:"level" desc:"debug, info, warn or error"`
	Format string `mapstructure:"format" desc:"console (for people) or json (for log collectors)"`
}

// DefaultLogConfig is info level, console format.
func DefaultLogConfig() LogConfig { return LogConfig{Level: "info", Format: "console"} }

var formats = []string{"console", "json"}

// Validate names the keys log.level and log.format.
func (c LogConfig) Validate() error {
	if _, err := zapcore.ParseLevel(c.Level); err != nil || c.Level == "" {
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Level)
	}
	if !slices.Contains(formats, c.Format) {
		return fmt.Errorf("log.format: %q is not console or json", c.Format)
	}
	return nil
}

// NewLogger writes to w at c's level, as JSON or console lines with ISO8601 times.
func NewLogger(c LogConfig, w io.Writer) (*zap.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lvl, _ := zapcore.ParseLevel(c.Level)
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	ec.TimeKey = "time"
	var enc zapcore.Encoder
	if c.Format == "json" {
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl), zap.AddCaller()), nil
}
