// Package template is an online Drain-style log template miner that needs no
// tuning per system.
//
// Data flow: the masker (mask.go) splits a line into tokens and replaces the
// values in them by "<*>" judging only by the token's shape (numbers of every
// spelling, hex, IPs, host:port, paths, URLs, e-mail addresses, UUIDs, MACs,
// dates and times, the values of key=value and key:value), and joins a value
// spelt with several words into one token. The tokens are routed through a
// fixed-depth prefix tree (token count, then the first Depth tokens; values
// take a shared branch) to a leaf that holds templates. The line joins the
// most similar template (share of equal positions ≥ Similarity, positions
// the template generalised not counted); positions that differ become "<*>"
// ("key=<*>" when the key is the same). Two differing words side by side, or
// two differing words in capitals, keep a line out of a template whatever the
// threshold. Otherwise the line starts a new template.
//
// DefaultConfig is chosen by cross-validation on eight Loghub systems
// (ga_test.go, docs/anomaly-classifier.md).
//
// Template ids are stable: the first 16 hex digits of the FNV-1a 64 hash of
// the template's first version (the masked first line), so an id never changes
// when the template later generalises. State is bounded: beyond MaxClusters the
// least recently used template is evicted (its id may come back later as new),
// and a template holds at most 256 tokens. Snapshot and Restore export and
// import the templates (ids, counts, LRU order) for a restart.
//
// Add allocates nothing once its buffers have grown, except when a template
// is created or generalised.
package template
