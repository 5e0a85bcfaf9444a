// Package sink delivers notifications: Slack incoming webhooks, a generic JSON webhook and
// the terminal. Each sink classifies its failures (retry or permanent, rate limits with
// the server's delay); retrying is left to the caller.
package sink
