#!/usr/bin/env bash
# Regenerates pkg/logwardenpb from proto/logwarden/v1 with Debian's protoc and the
# protoc-gen-go and protoc-gen-go-vtproto versions pinned by pkg/go.mod (its `tool`
# directives): *.pb.go (types, reflection) and *_vtproto.pb.go (MarshalVT, UnmarshalVT,
# SizeVT without reflection, for the hot paths).
#   scripts/proto.sh          regenerate in place
#   scripts/proto.sh check    fail when the committed code differs from a fresh generation
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v protoc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "proto: installing Debian's protobuf-compiler" >&2
    (apt-get install -y -qq protobuf-compiler >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq protobuf-compiler; }) >&2
  else
    echo "proto: protoc not found; install Debian's protobuf-compiler (apt-get install protobuf-compiler)" >&2
    exit 1
  fi
fi

mkdir -p .cache/bin
(cd pkg && GOWORK=off go build -o "$root/.cache/bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go)
(cd pkg && GOWORK=off go build -o "$root/.cache/bin/protoc-gen-go-vtproto" github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto)

out=pkg/logwardenpb
if [ "${1:-}" = check ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
gen() {
  protoc --plugin=protoc-gen-go="$root/.cache/bin/protoc-gen-go" \
    --plugin=protoc-gen-go-vtproto="$root/.cache/bin/protoc-gen-go-vtproto" \
    -I proto --go_out="$1" --go_opt=paths=source_relative \
    --go-vtproto_out="$1" --go-vtproto_opt=paths=source_relative,features=marshal+unmarshal+unmarshal_unsafe+size \
    proto/logwarden/v1/*.proto
}
if [ "${1:-}" = check ]; then
  gen "$out"
  if ! diff -r "$out/logwarden/v1" pkg/logwardenpb >/dev/null; then
    diff -r "$out/logwarden/v1" pkg/logwardenpb | head -40 >&2
    echo "proto: pkg/logwardenpb is stale; run 'make proto' and commit the result" >&2
    exit 1
  fi
  echo "proto: pkg/logwardenpb is up to date"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  gen "$tmp"
  rm -f pkg/logwardenpb/*.pb.go
  cp "$tmp"/logwarden/v1/*.pb.go pkg/logwardenpb/
  echo "proto: regenerated pkg/logwardenpb"
fi
