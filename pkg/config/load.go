package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"github.com/subosito/gotenv"
)

// ErrHelp is returned by Load after it wrote the usage for -h or --help.
var ErrHelp = errors.New("config: help requested")

// Validator is a configuration struct that checks itself; its errors name the keys.
type Validator interface{ Validate() error }

// Options of Load.
type Options struct {
	Name    string              // program name, for usage and errors
	Args    []string            // command-line args (flags and positionals), without the program name
	Getenv  func(string) string // environment lookup; nil = no environment
	EnvFile string              // path of the .env file; "" = ".env"; a missing file is fine
	Usage   io.Writer           // where -h writes; nil = io.Discard
}

const (
	configFlag = "config"
	configEnv  = "CONFIG_FILE"
)

// Load fills cfg, a pointer to a struct already holding the defaults, from (highest
// first) flags, the environment, the .env file and the YAML file named by --config or
// CONFIG_FILE, then calls cfg.Validate. It returns the positional arguments.
//
// An empty environment or .env value counts as unset. Map keys read from YAML are
// lower-cased (viper's keys are case-insensitive).
func Load(cfg Validator, opts Options) ([]string, error) {
	fields, err := walk(cfg)
	if err != nil {
		return nil, err
	}
	if reflect.ValueOf(cfg).Kind() != reflect.Pointer {
		return nil, fmt.Errorf("config: want a pointer to a struct, got %T", cfg)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	usage := opts.Usage
	if usage == nil {
		usage = io.Discard
	}

	fs, flags := newFlagSet(opts.Name, fields)
	if err := fs.Parse(opts.Args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			writeUsage(usage, opts.Name, fields)
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("config: %w (see -h)", err)
	}

	for _, f := range fields {
		if fv := flags[FlagName(f.Name)]; f.Secret && fv != nil && fv.set {
			return nil, fmt.Errorf("config: %s (%s): a secret is not accepted as the flag --%s (every user of the machine can read command lines); set %s, or %s to the path of a file holding it",
				f.Name, f.Env, FlagName(f.Name), f.Env, f.FileEnv())
		}
	}

	envFile := opts.EnvFile
	if envFile == "" {
		envFile = ".env"
	}
	dotenv, err := readDotEnv(envFile)
	if err != nil {
		return nil, err
	}

	v := viper.New()
	for _, f := range fields {
		v.SetDefault(f.Name, f.def)
	}

	configFile := flags[configFlag].String()
	if configFile == "" {
		configFile = getenv(configEnv)
	}
	if configFile == "" {
		configFile = dotenv[configEnv]
	}
	if configFile != "" {
		if err := readYAML(v, configFile, fields); err != nil {
			return nil, err
		}
	}

	for _, f := range fields {
		raw, src, ok, err := highest(f, flags, getenv, dotenv, envFile)
		if err != nil {
			return nil, err
		}
		if !ok {
			if !v.InConfig(f.Name) {
				continue // the default
			}
			raw, src = v.Get(f.Name), "file "+filepath.Base(configFile)
		}
		val, err := convert(raw, f.typ)
		if err != nil {
			return nil, fmt.Errorf("config: key %q (%s): %w", f.Name, src, err)
		}
		v.Set(f.Name, val)
	}

	if err := v.UnmarshalExact(cfg, viper.DecodeHook(decodeHook)); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return fs.Args(), nil
}

// highest is the value of f from the highest of flags, environment and .env, and its
// source for error messages. A secret key is never read from a flag (Load refused it),
// and in the environment and in .env its <ENV>_FILE names a file holding the value.
func highest(f field, flags map[string]*rawValue, getenv func(string) string, dotenv map[string]string, envFile string) (any, string, bool, error) {
	if fv := flags[f.Flag]; fv != nil && fv.set {
		return fv.String(), "flag --" + f.Flag, true, nil
	}
	layers := []struct {
		get  func(string) string
		name string
	}{
		{getenv, "env "},
		{func(k string) string { return dotenv[k] }, filepath.Base(envFile) + " "},
	}
	for _, l := range layers {
		s := l.get(f.Env)
		if path := l.get(f.FileEnv()); f.Secret && path != "" {
			if s != "" {
				return nil, "", false, fmt.Errorf("config: %s (%s, %s): both are set (%s); set one", f.Name, f.Env, f.FileEnv(), strings.TrimSpace(l.name))
			}
			v, err := readSecretFile(path)
			if err != nil {
				return nil, "", false, fmt.Errorf("config: %s (%s): %w", f.Name, f.FileEnv(), err)
			}
			return v, l.name + f.FileEnv(), true, nil
		}
		if s != "" {
			return s, l.name + f.Env, true, nil
		}
	}
	return nil, "", false, nil
}

// maxSecretFile bounds a secret file: a token or password, not a data file.
const maxSecretFile = 64 << 10

// readSecretFile reads a secret from path without its trailing line break (files written
// by echo, Kubernetes Secrets and Docker secrets often end with one). Errors name the
// path, never the content.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// readYAML loads the YAML file into v and rejects keys the struct does not have.
func readYAML(v *viper.Viper, path string, fields []field) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	yv := viper.New()
	yv.SetConfigType("yaml")
	if err := yv.ReadConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("config: %s: %w", filepath.Base(path), err)
	}
	known := make(map[string]field, len(fields))
	for _, f := range fields {
		known[f.Name] = f
	}
	for _, k := range yv.AllKeys() { // sorted
		if !knownKey(k, known) {
			return fmt.Errorf("config: %s: unknown key %q", filepath.Base(path), k)
		}
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("config: %s: %w", filepath.Base(path), err)
	}
	return nil
}

// knownKey: k is a key of the struct, or an entry of one of its map keys.
func knownKey(k string, known map[string]field) bool {
	if _, ok := known[k]; ok {
		return true
	}
	for i := strings.LastIndexByte(k, '.'); i > 0; i = strings.LastIndexByte(k[:i], '.') {
		if f, ok := known[k[:i]]; ok {
			return f.typ.Kind() == reflect.Map
		}
	}
	return false
}

// readDotEnv parses the .env file; a missing file is no error.
func readDotEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	env, err := gotenv.StrictParse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return env, nil
}

// convert turns a raw value (a flag or environment string, or what YAML decoded) into
// the field's type, with the same rules UnmarshalExact applies.
func convert(raw any, typ reflect.Type) (any, error) {
	out := reflect.New(typ)
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       decodeHook,
		WeaklyTypedInput: true,
		Result:           out.Interface(),
	})
	if err != nil {
		return nil, err
	}
	if err := d.Decode(raw); err != nil {
		return nil, unwrapDecodeError(err)
	}
	return out.Elem().Interface(), nil
}

// unwrapDecodeError drops mapstructure's framing around the cause, which names no key
// here; the caller names it.
func unwrapDecodeError(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// decodeHook reads durations as "5s", lists as "a,b" and maps as "k=v,k=v" when they
// come as strings (flags, environment), and refuses a bare number as a duration.
func decodeHook(from, to reflect.Type, data any) (any, error) {
	switch {
	case to == durationType:
		switch from.Kind() {
		case reflect.String:
			return parseDuration(data.(string))
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Uint64:
			if reflect.ValueOf(data).IsZero() {
				return 0, nil
			}
			if from == durationType {
				return data, nil
			}
			return nil, fmt.Errorf("duration %v needs a unit, e.g. \"5s\"", data)
		}
	case from.Kind() == reflect.String && to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.String:
		return splitList(data.(string)), nil
	case from.Kind() == reflect.String && to.Kind() == reflect.Map:
		return parseMap(data.(string))
	}
	return data, nil
}

func splitList(s string) []string {
	out := []string{}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range splitList(s) {
		k, val, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", p)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}

// rawValue is a flag that keeps its text; Load converts it with the other sources so
// errors read the same. Repeating a list or map flag appends.
type rawValue struct {
	s, typ string
	list   bool
	set    bool
}

func (r *rawValue) String() string { return r.s }
func (r *rawValue) Type() string   { return r.typ }
func (r *rawValue) Set(s string) error {
	if r.list && r.set && s != "" {
		s = r.s + "," + s
	}
	r.s, r.set = s, true
	return nil
}

func newFlagSet(name string, fields []field) (*pflag.FlagSet, map[string]*rawValue) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	flags := make(map[string]*rawValue, len(fields)+1)
	flags[configFlag] = &rawValue{typ: "file"}
	fs.Var(flags[configFlag], configFlag, "YAML configuration file")
	for _, f := range fields {
		if f.Secret {
			// Hidden, only to refuse it with a message that names the variable to use.
			flags[FlagName(f.Name)] = &rawValue{typ: typeName(f.typ)}
			fs.Var(flags[FlagName(f.Name)], FlagName(f.Name), "")
			_ = fs.MarkHidden(FlagName(f.Name))
			continue
		}
		k := f.typ.Kind()
		rv := &rawValue{typ: typeName(f.typ), list: k == reflect.Slice || k == reflect.Map}
		flags[f.Flag] = rv
		fl := fs.VarPF(rv, f.Flag, "", f.Desc)
		if k == reflect.Bool {
			fl.NoOptDefVal = "true"
		}
	}
	return fs, flags
}

func writeUsage(w io.Writer, name string, fields []field) {
	if name == "" {
		name = "command"
	}
	fmt.Fprintf(w, "Usage: %s [flags] [args]\n\n", name)
	fmt.Fprintf(w, "Every flag can also be set by the environment variable in brackets, a .env file\n")
	fmt.Fprintf(w, "or a YAML file (--config). Precedence: flags > environment > .env > YAML > defaults.\n")
	for _, f := range fields {
		if f.Secret {
			fmt.Fprintf(w, "Secrets have no flag: set the variable, or VARIABLE_FILE to a file holding the value.\n")
			break
		}
	}
	fmt.Fprintln(w)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  --%s file\t[%s]\tYAML configuration file\n", configFlag, configEnv)
	for _, f := range fields {
		desc := f.Desc
		if f.Secret {
			fmt.Fprintf(tw, "  (no flag)\t[%s or %s]\t%s\n", f.Env, f.FileEnv(), desc)
			continue
		}
		arg := typeName(f.typ)
		if arg != "" {
			arg = " " + arg
		}
		if f.Default != "" {
			desc = strings.TrimSpace(desc + fmt.Sprintf(" (default %q)", f.Default))
		}
		fmt.Fprintf(tw, "  --%s%s\t[%s]\t%s\n", f.Flag, arg, f.Env, desc)
	}
	_ = tw.Flush()
	for line := range strings.Lines(buf.String()) {
		_, _ = io.WriteString(w, strings.TrimRight(line, " \n")+"\n")
	}
}

func parseDuration(s string) (any, error) {
	return time.ParseDuration(strings.TrimSpace(s))
}
