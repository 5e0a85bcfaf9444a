// Package conf loads the service's configuration struct with one precedence: flags >
// environment > .env file > YAML file (--config) > the defaults already in the struct.
// Every key a.b_c (from mapstructure tags, nested structs joined by dots) has the
// environment name A_B_C and the flag --a-b-c; unknown YAML keys and bad values are errors
// that name the key; -h prints every key with its env name, default and desc tag.
//
// It has the API planned for pkg/config (Load, Options, Validator, ErrHelp), which had not
// landed when this service was wired; switching to pkg/config is an import change.
package conf
