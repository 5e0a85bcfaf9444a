// Package template is an online Drain-style log template miner.
//
// Data flow: Mask splits a line into whitespace tokens and replaces variable
// tokens (numbers, IPv4 addresses, hex, UUIDs, paths, quoted strings, tokens
// with digits) by "<*>". The masked tokens are routed through a fixed-depth
// prefix tree (token count, then the first Depth tokens, tokens with digits
// going to the wildcard branch) to a leaf that holds clusters; the most similar
// cluster (share of equal tokens ≥ Similarity) absorbs the line and positions
// that differ become "<*>". Otherwise a new cluster is created.
//
// Template ids are stable: the first 16 hex digits of the FNV-1a 64 hash of
// the template's first version (the masked first line), so an id never changes
// when the template later generalises. State is bounded: beyond MaxClusters the
// least recently used cluster is evicted (its id may come back later as new).
package template
