package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Key describes one configuration key: its dotted name, the environment variable and
// flag that set it, its default (as a flag value would spell it) and its help text.
type Key struct {
	Name    string // e.g. "kafka.brokers"
	Env     string // e.g. "KAFKA_BROKERS"
	Flag    string // e.g. "kafka-brokers" (without dashes); "" for a secret
	Default string // e.g. "127.0.0.1:9092"
	Desc    string // the field's desc tag
	// Secret: the desc says "(secret…)" or the field is tagged flag:"-". A secret has no
	// flag (a command line shows in ps; Load refuses the attempt and names the variable)
	// and may also be read from the file named by FileEnv.
	Secret bool
}

// FileEnv is the variable naming a file that holds a secret key's value ("" for a key
// that is not secret): Env + "_FILE", e.g. KAFKA_SASL_PASSWORD_FILE.
func (k Key) FileEnv() string {
	if !k.Secret {
		return ""
	}
	return k.Env + "_FILE"
}

// secretDesc marks a secret key in its desc tag: "(secret)", "(secret: …)", "(secret; …)".
var secretDesc = regexp.MustCompile(`\(secret\b`)

// field is a Key plus what Load needs to parse and place its value.
type field struct {
	Key
	typ reflect.Type
	def any // the default as a Go value
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// Describe lists every key of cfg (a struct or a pointer to one, holding the defaults),
// in field order. It is for documentation and for tests that check deployment files
// only set variables a service reads.
func Describe(cfg any) []Key {
	fields, _ := walk(cfg)
	keys := make([]Key, len(fields))
	for i, f := range fields {
		keys[i] = f.Key
	}
	return keys
}

// EnvName is the environment variable of a key: upper case, '.' and '-' become '_'.
func EnvName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// FlagName is the flag of a key (without the leading dashes): '.' and '_' become '-'.
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// walk lists the leaf fields of cfg; the error names the first field of a type Load
// cannot fill.
func walk(cfg any) ([]field, error) {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, fmt.Errorf("config: nil %s", v.Type())
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("config: want a pointer to a struct, got %T", cfg)
	}
	var out []field
	err := walkStruct(v, "", &out)
	envs := make(map[string]string, len(out))
	for _, f := range out {
		envs[f.Env] = f.Name
	}
	for _, f := range out {
		if other, ok := envs[f.FileEnv()]; ok && f.Secret && err == nil {
			err = fmt.Errorf("config: key %q: its file variable %s is the variable of key %q", f.Name, f.FileEnv(), other)
		}
	}
	return out, err
}

func walkStruct(v reflect.Value, prefix string, out *[]field) error {
	var firstErr error
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("mapstructure")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && sf.Type != timeType {
			p := prefix
			if !strings.Contains(opts, "squash") {
				p = join(prefix, keyName(name, sf.Name))
			}
			if err := walkStruct(fv, p, out); err != nil && firstErr == nil {
				firstErr = err
			}
			continue
		}
		key := join(prefix, keyName(name, sf.Name))
		if !supported(sf.Type) && firstErr == nil {
			firstErr = fmt.Errorf("config: key %q: unsupported type %s", key, sf.Type)
		}
		desc := sf.Tag.Get("desc")
		secret := sf.Tag.Get("flag") == "-" || secretDesc.MatchString(desc)
		flag := FlagName(key)
		if secret { // a flag would show in ps
			flag = ""
		}
		*out = append(*out, field{
			Key: Key{
				Name:    key,
				Env:     EnvName(key),
				Flag:    flag,
				Default: formatValue(fv),
				Desc:    desc,
				Secret:  secret,
			},
			typ: sf.Type,
			def: fv.Interface(),
		})
	}
	return firstErr
}

// keyName is the mapstructure tag name, or the lower-cased field name as mapstructure
// matches it.
func keyName(tag, fieldName string) string {
	if tag != "" {
		return tag
	}
	return strings.ToLower(fieldName)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func supported(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Map:
		return t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String
	}
	return false
}

// formatValue spells a value the way a flag or environment variable would give it.
func formatValue(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	case v.Kind() == reflect.Map:
		parts := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			parts = append(parts, fmt.Sprintf("%v=%v", it.Key().Interface(), it.Value().Interface()))
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

// typeName is how usage names a flag's argument.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Bool:
		return ""
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Map:
		return "k=v,..."
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "float"
	case t.Kind() == reflect.String:
		return "string"
	}
	return "int"
}

// KeyError is the services' one validation error style: "key (ENV_NAME): message".
func KeyError(key, format string, args ...any) error {
	return fmt.Errorf("%s (%s): %s", key, EnvName(key), fmt.Sprintf(format, args...))
}

// Keyed puts the errors of a shared struct's Validate in that style under prefix: the
// writer's "batch_size: must be ≥ 1" becomes "writer.batch_size (WRITER_BATCH_SIZE):
// must be ≥ 1". Lines already in the style (or naming no key) pass unchanged; nil stays nil.
func Keyed(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	for _, line := range strings.Split(err.Error(), "\n") {
		key, msg, ok := strings.Cut(line, ": ")
		if !ok || key == "" || strings.ContainsAny(key, " ()") {
			out = append(out, errors.New(line))
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		out = append(out, KeyError(key, "%s", msg))
	}
	return errors.Join(out...)
}
