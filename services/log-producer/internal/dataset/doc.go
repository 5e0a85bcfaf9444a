// Package dataset writes a labelled evaluation dataset from the generator: lines.log (the
// raw lines), labels.jsonl (the ground truth of each line, same order) and meta.json
// (what was generated). Events flow generator → line + label → two buffered files; meta
// is written last, so a complete meta.json means complete files.
package dataset
