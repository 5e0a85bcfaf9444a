package config_test

import (
	"fmt"
	"time"

	"github.com/logwarden/logwarden/pkg/config"
	"github.com/logwarden/logwarden/pkg/kafkax"
	"github.com/logwarden/logwarden/pkg/obs"
)

type serviceConfig struct {
	Kafka kafkax.Config `mapstructure:"kafka"`
	Log   obs.LogConfig `mapstructure:"log"`
	Group struct {
		Wait time.Duration `mapstructure:"wait" desc:"how long to gather alerts of a group"`
	} `mapstructure:"group"`
}

func (c *serviceConfig) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	return c.Log.Validate()
}

// A service embeds the shared config structs; their keys get env names and flags.
func ExampleLoad() {
	cfg := &serviceConfig{Kafka: kafkax.DefaultConfig(), Log: obs.DefaultLogConfig()}
	cfg.Group.Wait = 30 * time.Second
	env := map[string]string{"KAFKA_BROKERS": "k1:9092,k2:9092", "LOG_FORMAT": "json"}
	rest, err := config.Load(cfg, config.Options{
		Name:    "slack-notifier",
		Args:    []string{"--group-wait", "1m", "input.txt"},
		Getenv:  func(k string) string { return env[k] },
		EnvFile: "testdata/absent.env",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Kafka.Brokers, cfg.Log.Format, cfg.Group.Wait, rest)
	// Output: [k1:9092 k2:9092] json 1m0s [input.txt]
}
