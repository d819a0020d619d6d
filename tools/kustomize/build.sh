#!/usr/bin/env bash
# Builds kustomize-build (main.go: `kustomize build`, from kustomize's Go module pinned in go.mod) and
# prints its path. Cached under the user's cache directory, keyed by a hash of this recipe.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
command -v go >/dev/null || { echo "kustomize: Go is needed to build kustomize-build" >&2; exit 1; }
recipe_hash="$(cat go.mod go.sum main.go build.sh | sha256sum | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/customer-service/kustomize"
out="$cache_root/$recipe_hash/kustomize-build"
if [ ! -x "$out" ]; then
    echo "kustomize: building kustomize-build (cached in $cache_root)" >&2
    mkdir -p "$(dirname "$out")"
    go build -mod=readonly -trimpath -ldflags "-s -w" -o "$out.tmp" .
    mv "$out.tmp" "$out"
    find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -path "$(dirname "$out")" -exec rm -rf {} +
fi
echo "$out"
