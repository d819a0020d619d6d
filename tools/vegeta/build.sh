#!/usr/bin/env bash
# Builds vegeta (the open-model HTTP load generator bench/ uses for latency at fixed arrival rates) from
# its Go module at the version pinned below, and prints the binary's path. `go install module@version`
# checks the module against its own go.sum and the checksum database. Cached under the user's cache
# directory, keyed by the version, so a fresh clone on the same machine does not build it again.
set -euo pipefail
version="v12.13.0"
command -v go >/dev/null || { echo "vegeta: Go is needed to build vegeta" >&2; exit 1; }
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/customer-service/vegeta"
out="$cache_root/$version/vegeta"
if [ ! -x "$out" ]; then
    echo "vegeta: building github.com/tsenart/vegeta/v12@$version (cached in $cache_root)" >&2
    mkdir -p "$cache_root/$version"
    GOBIN="$cache_root/$version/bin.tmp" GOFLAGS=-trimpath go install -ldflags "-s -w" \
        "github.com/tsenart/vegeta/v12@$version"
    mv "$cache_root/$version/bin.tmp/vegeta" "$out"
    rm -rf "$cache_root/$version/bin.tmp"
    find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name "$version" -exec rm -rf {} +
fi
echo "$out"
