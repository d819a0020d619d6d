#!/usr/bin/env bash
# Proves each patch in patches/ that has a Go test in patch-tests/ (same number): on the pinned Dapr
# module with every other patch applied, the test fails; with the patch too, it passes. Both runs use
# `go test -race`. A pass is remembered under the user's cache directory, keyed by the recipe, so it
# runs again only when the module, a patch or a test changes. Used by scripts/test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
log() { printf 'dapr-patches: %s\n' "$*" >&2; }

dapr_version="$(awk '$1 == "github.com/dapr/dapr" { print $2 }' go.mod)"
recipe_hash="$(cat go.mod test-patches.sh $(find patches patch-tests -type f | sort) | sha256sum | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/customer-service/dapr-patch-tests"
stamp="$cache_root/$dapr_version-$recipe_hash.passed"
if [ -f "$stamp" ]; then
    log "patch tests passed before for this recipe ($stamp)"
    exit 0
fi

module_dir="$(go mod download -json "github.com/dapr/dapr@$dapr_version" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/work.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The copy with the patches listed applied, and the test added to the package it names.
prepare() {
    local dir="$1" test_file="$2"; shift 2
    rm -rf "$dir"
    cp -r "$module_dir" "$dir"
    chmod -R u+w "$dir"
    local fix
    for fix in "$@"; do patch --quiet --forward -p1 -d "$dir" < "$fix"; done
    cp "$test_file" "$dir/$(sed -n 's|^// package-dir: ||p' "$test_file")/"
}

run_test() {
    local dir="$1" test_file="$2"
    local name pkg
    name="$(sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing.T).*/\1/p' "$test_file" | head -1)"
    pkg="./$(sed -n 's|^// package-dir: ||p' "$test_file")/"
    (cd "$dir" && GOFLAGS=-mod=mod go test -race -count=1 -run "^$name\$" "$pkg")
}

for test_file in $(find patch-tests -name '*_test.go' | sort); do
    number="$(basename "$test_file" | cut -d_ -f1)"
    fix="$(find patches -name "$number-*.patch")"
    [ -n "$fix" ] || { log "$test_file has no patches/$number-*.patch"; exit 1; }
    others=$(find patches -name '*.patch' ! -name "$number-*" | sort)
    log "$fix: its test must fail without it"
    prepare "$work/without" "$test_file" $others
    if run_test "$work/without" "$test_file" > "$work/without.log" 2>&1; then
        log "FAILED: $test_file passes without $fix: it does not reproduce the bug"
        tail -20 "$work/without.log" >&2
        exit 1
    fi
    # The test must have run and failed: a build failure is no reproduction.
    if ! grep -q -- "--- FAIL: $(sed -n 's/^func \(Test[A-Za-z0-9_]*\)(t \*testing.T).*/\1/p' "$test_file" | head -1)" \
            "$work/without.log"; then
        log "FAILED: $test_file did not run to a failure without $fix (a build error?)"
        tail -20 "$work/without.log" >&2
        exit 1
    fi
    grep -E -- '--- FAIL|race detected|Should be zero' "$work/without.log" | head -5 | sed 's/^/  without: /' >&2
    log "$fix: and pass with it"
    prepare "$work/with" "$test_file" $(find patches -name '*.patch' | sort)
    if ! run_test "$work/with" "$test_file" > "$work/with.log" 2>&1; then
        log "FAILED: $test_file fails with $fix applied"
        tail -40 "$work/with.log" >&2
        exit 1
    fi
    tail -1 "$work/with.log" | sed 's/^/  with: /' >&2
done
touch "$stamp"
log "every patch test fails without its patch and passes with it"
