// Package silence mutes alerts the way Alertmanager's silences do: a Silence is a set of
// matchers on an alert's labels (rule, entity, host, severity) and a time range, made
// with a Slack button or `slack-notifier silence add`. Silences live in a compacted
// Kafka topic keyed by silence id; every notifier replica follows it into a Set (Store),
// loaded before the first alert is consumed, so all replicas mute the same alerts and a
// restart loses none. A silence that ended is removed by a tombstone.
//
// Set.Match is on the path of every alert: silences are indexed by one of their
// equality matchers, so an alert is compared only with the silences that name its
// entity, rule, host or severity, plus those without any equality matcher.
package silence
