#!/usr/bin/env bash
# Measures what users feel most: the warm edit-and-build and edit-and-test loops. Run it after a
# first build (which takes about five minutes); it touches main.go, times the build and the
# tests, and restores main.go. Pass "cold" to also time a build with an empty build cache.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}

if [ "${1:-}" = "cold" ]; then
  cache=$(mktemp -d)
  echo "cold build (empty GOCACHE): $(GOCACHE=$cache seconds go build -o /dev/null .) s"
  rm -rf "$cache"
fi

go build -o /dev/null . && go test ./... >/dev/null
cp main.go /tmp/main.go.orig
trap 'cp /tmp/main.go.orig main.go' EXIT
echo "// touched" >> main.go
echo "warm build after an edit: $(seconds go build -o /dev/null .) s"
echo "// touched again" >> main.go
echo "warm go test ./... after an edit: $(seconds go test ./...) s"
