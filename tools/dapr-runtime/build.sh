#!/usr/bin/env bash
# Builds daprd, placement, scheduler and sentry from the Dapr release pinned in go.mod, with only the
# components registered in ./components, and prints the folder that holds the four binaries.
#
# Results are cached outside the clone, under the user's cache directory, keyed by the Dapr
# version and a hash of this recipe, so a second run (or a fresh clone on the same machine)
# skips the build. Binaries found on PATH or in ~/.dapr/bin are never used: they lack the patches.
#
# patches/*.patch are applied, in name order, to that copy of the pinned module: each fixes one Dapr
# bug this service depends on, says why in its header, and has an upstream report beside it.
# contrib-patches/*.patch do the same for a copy of the pinned components-contrib module.
#
# Upstream's cmd/daprd/components package registers every component from build-tagged files,
# and its one untagged file panics unless a tag is set. Go refuses overlays of files inside the
# module cache, so the pinned module is copied into the build cache (never into this repo), a
# generated modfile points at that copy, and -overlay swaps the panicking file for an empty one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf 'dapr-runtime: %s\n' "$*" >&2; }

dapr_version="$(awk '$1 == "github.com/dapr/dapr" { print $2 }' go.mod)"
[ -n "$dapr_version" ] || { log "no github.com/dapr/dapr requirement in go.mod"; exit 1; }
version_number="${dapr_version#v}"

has_pinned_version() {
    local dir="$1"
    [ -x "$dir/daprd" ] && [ -x "$dir/placement" ] && [ -x "$dir/scheduler" ] && [ -x "$dir/sentry" ] \
        && [ "$("$dir/daprd" --version 2>/dev/null)" = "$version_number" ]
}

command -v go >/dev/null || { log "Go is needed to build the Dapr runtime"; exit 1; }

recipe_hash="$(cat go.mod go.sum build.sh $(find cmd components -name '*.go' | sort) \
    $(find patches contrib-patches -name '*.patch' | sort) \
    | sha256sum | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/customer-service/dapr-runtime"
out="$cache_root/$version_number-$recipe_hash"

if has_pinned_version "$out/bin"; then
    log "using cached build in $out/bin"
    echo "$out/bin"
    exit 0
fi

log "building Dapr $version_number (first build takes several minutes; cached in $out)"
started=$SECONDS
mkdir -p "$cache_root"
# The patched modules' folder is recorded in the binaries (go version -m shows the replace targets), so
# it is the same on every machine and for every user: the same recipe then gives the same bytes, and the
# sidecar image the same digest (devstack/sidecar_image.py). One build at a time holds it.
work="/tmp/customer-service-dapr-build/$version_number-$recipe_hash"
mkdir -p "$(dirname "$work")"
exec 9>"$(dirname "$work")/lock"
flock 9
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

module_dir="$(go mod download -json "github.com/dapr/dapr@$dapr_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$module_dir" ] || { log "could not download github.com/dapr/dapr@$dapr_version"; exit 1; }

cp -r "$module_dir" "$work/dapr"
chmod -R u+w "$work/dapr"
for fix in $(find patches -name '*.patch' | sort); do
    patch --quiet --forward -p1 -d "$work/dapr" < "$fix" || { log "patch $fix does not apply"; exit 1; }
done
contrib_version="$(awk '$1 == "github.com/dapr/components-contrib" { print $2 }' go.mod)"
contrib_dir="$(go mod download -json "github.com/dapr/components-contrib@$contrib_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$contrib_dir" ] || { log "could not download github.com/dapr/components-contrib@$contrib_version"; exit 1; }
cp -r "$contrib_dir" "$work/components-contrib"
chmod -R u+w "$work/components-contrib"
for fix in $(find contrib-patches -name '*.patch' | sort); do
    patch --quiet --forward -p1 -d "$work/components-contrib" < "$fix" || { log "patch $fix does not apply"; exit 1; }
done
cp go.mod "$work/go.mod"
cp go.sum "$work/go.sum"
printf '\nreplace github.com/dapr/dapr => %s\n' "$work/dapr" >> "$work/go.mod"
printf 'replace github.com/dapr/components-contrib => %s\n' "$work/components-contrib" >> "$work/go.mod"
echo 'package components' > "$work/no_tag_guard.go"
printf '{"Replace":{"%s":"%s"}}\n' \
    "$work/dapr/cmd/daprd/components/zz_notag.go" "$work/no_tag_guard.go" > "$work/overlay.json"

go build -mod=readonly -modfile="$work/go.mod" -overlay="$work/overlay.json" -trimpath \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$version_number" \
    -o "$work/bin/" ./cmd/daprd ./cmd/placement ./cmd/scheduler ./cmd/sentry

rm -rf "$out"
mkdir -p "$out"
mv "$work/bin" "$out/bin"
# Builds of older recipes are never used again.
find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -path "$out" -exec rm -rf {} +
log "built Dapr $version_number in $((SECONDS - started))s"
echo "$out/bin"
