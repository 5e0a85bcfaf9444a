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
// A key whose desc says "(secret…)", or tagged flag:"-" (a password, token or webhook
// URL), has no flag, since any user of the machine can read a command line with ps: Load
// refuses the attempt and names the variable to use. Its value comes from the variable
// (environment, .env, YAML) or from a file named by the variable plus _FILE
// (KAFKA_SASL_PASSWORD_FILE=/run/secrets/…), as Kubernetes and Docker mount secrets.
// Secrets lists the values that are set and Redact (with RedactURL) removes them, and
// credentials in any URL, from error text.
package config
