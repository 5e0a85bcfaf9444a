package conf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrHelp is returned by Load after it printed the usage for -h or --help.
var ErrHelp = errors.New("help requested")

// Validator is a configuration struct that checks itself.
type Validator interface{ Validate() error }

// Options of Load.
type Options struct {
	Name    string
	Args    []string
	Getenv  func(string) string
	EnvFile string // default ".env"; a missing file is fine
	Usage   io.Writer
}

type field struct {
	key, env, flag, desc string
	v                    reflect.Value
	def                  string
}

// Load fills cfg (a pointer to a struct holding the defaults) and validates it. It
// returns the positional arguments left after the flags.
func Load(cfg Validator, opts Options) ([]string, error) {
	rv := reflect.ValueOf(cfg)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, errors.New("conf: cfg must be a pointer to a struct")
	}
	var fields []*field
	collect(rv.Elem(), "", &fields)
	byKey := map[string]*field{}
	byFlag := map[string]*field{}
	for _, f := range fields {
		byKey[f.key], byFlag[f.flag] = f, f
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.EnvFile == "" {
		opts.EnvFile = ".env"
	}

	// Flags are parsed first (they name the YAML file) but applied last.
	flagVals := map[string]string{}
	var configFile string
	var rest []string
	args := opts.Args
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, val, hasVal = name[:j], name[j+1:], true
		}
		if name == "h" || name == "help" {
			usage(opts, fields)
			return nil, ErrHelp
		}
		f := byFlag[name]
		if name != "config" && f == nil {
			return nil, fmt.Errorf("unknown flag --%s (see -h)", name)
		}
		if !hasVal {
			if f != nil && f.v.Kind() == reflect.Bool {
				val = "true"
			} else if i+1 < len(args) {
				i++
				val = args[i]
			} else {
				return nil, fmt.Errorf("flag --%s needs a value", name)
			}
		}
		if name == "config" {
			configFile = val
			continue
		}
		flagVals[f.key] = val
	}
	if configFile == "" {
		configFile = opts.Getenv("CONFIG")
	}

	if configFile != "" {
		if err := applyYAML(configFile, byKey); err != nil {
			return nil, err
		}
	}
	if dotenv, err := readDotEnv(opts.EnvFile); err != nil {
		return nil, err
	} else {
		for _, f := range fields {
			if v, ok := dotenv[f.env]; ok {
				if err := set(f, v, ".env "+f.env); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, f := range fields {
		if v := opts.Getenv(f.env); v != "" {
			if err := set(f, v, "environment "+f.env); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range fields {
		if v, ok := flagVals[f.key]; ok {
			if err := set(f, v, "flag --"+f.flag); err != nil {
				return nil, err
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return rest, nil
}

func collect(v reflect.Value, prefix string, out *[]*field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("mapstructure")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name := strings.Split(tag, ",")[0]
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type != reflect.TypeOf(time.Time{}) {
			collect(fv, key, out)
			continue
		}
		*out = append(*out, &field{
			key:  key,
			env:  strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key)),
			flag: strings.NewReplacer(".", "-", "_", "-").Replace(key),
			desc: sf.Tag.Get("desc"),
			v:    fv,
			def:  format(fv),
		})
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func set(f *field, s, from string) error {
	bad := func(err error) error {
		return fmt.Errorf("%s (%s from %s): %q: %v", f.key, f.env, from, s, err)
	}
	switch {
	case f.v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return bad(err)
		}
		f.v.SetInt(int64(d))
	case f.v.Kind() == reflect.String:
		f.v.SetString(s)
	case f.v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return bad(err)
		}
		f.v.SetBool(b)
	case f.v.CanInt():
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || f.v.OverflowInt(n) {
			return bad(fmt.Errorf("not an integer"))
		}
		f.v.SetInt(n)
	case f.v.Kind() == reflect.Float64 || f.v.Kind() == reflect.Float32:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return bad(fmt.Errorf("not a number"))
		}
		f.v.SetFloat(x)
	case f.v.Kind() == reflect.Slice && f.v.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.v.Set(reflect.ValueOf(parts))
	default:
		return bad(fmt.Errorf("unsupported type %s", f.v.Type()))
	}
	return nil
}

func format(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

func applyYAML(path string, byKey map[string]*field) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	flat := map[string]any{}
	flatten("", doc, flat)
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := byKey[k]
		if f == nil {
			return fmt.Errorf("config file %s: unknown key %q", path, k)
		}
		var s string
		switch x := flat[k].(type) {
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			s = strings.Join(parts, ",")
		case nil:
			continue
		default:
			s = fmt.Sprint(x)
		}
		if err := set(f, s, "config file "+path); err != nil {
			return err
		}
	}
	return nil
}

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}

func readDotEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("env file: %w", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("env file %s line %d: not KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, sc.Err()
}

func usage(opts Options, fields []*field) {
	w := opts.Usage
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "usage: %s [flags]\n\nEvery key also reads from the environment (name in brackets), a .env file and\na YAML file given with --config FILE. Precedence: flags > env > .env > YAML > defaults.\n\n", opts.Name)
	for _, f := range fields {
		secret := strings.Contains(f.key, "password") || strings.Contains(f.key, "token")
		def := f.def
		if secret && def != "" {
			def = "(set)"
		}
		fmt.Fprintf(w, "  --%s [%s]\n      %s (default %q)\n", f.flag, f.env, f.desc, def)
	}
}
