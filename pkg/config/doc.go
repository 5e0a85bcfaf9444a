// Package config loads a service's configuration struct from flags, the environment, a
// .env file and a YAML file, in that order of precedence, over the defaults already in
// the struct.
//
// The struct's mapstructure tags name the keys (nested structs join with dots); each key
// a.b_c is read from the flag --a-b-c, the variable A_B_C and the YAML path a: {b_c: …}.
// Load walks the struct, lays the sources over a fresh viper instance, decodes with
// UnmarshalExact (unknown YAML keys are errors) and finally calls Validate. Errors name
// the key and where its value came from. Describe lists the keys for docs and tests.
//
// A field tagged flag:"-" has no flag: a secret set on the command line shows in ps, so
// such a key comes only from the environment, .env or the YAML file.
package config
