#!/usr/bin/env bash
# Runs actionlint, the linter for GitHub workflow files, at the version toolchain/actionlint pins.
# The first run builds it from its Go module into the toolchain cache (keyed by version and source
# hash, like scripts/toolchain.sh's binaries); later runs are quiet and start it at once.
#
#   bash scripts/actionlint.sh [actionlint args...]    e.g. -color=false .github/workflows/preview.yml
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODULE="$ROOT/toolchain/actionlint"
PACKAGE="github.com/rhysd/actionlint"
# Read from go.mod (`require` line or block), so the pin lives in one place and works without Go.
VERSION="$(sed -nE "s#^(require)?[[:space:]]*$PACKAGE (v[^ ]+).*#\2#p" "$MODULE/go.mod" | head -n1)"
CACHE="${STAGEWISE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stagewise}/toolchain"
GO_MIN_MINOR=21 # older Go cannot fetch the newer toolchain go.mod asks for (as in scripts/toolchain.sh)

say() { echo "stagewise: $*" >&2; }
die() { echo "stagewise: $*" >&2; exit 1; }

[ -n "$VERSION" ] || die "toolchain/actionlint/go.mod does not require $PACKAGE at a version"

# The same hash as scripts/toolchain.sh's source_hash: a change to the wrapper module builds anew.
HASH="$(cd "$MODULE" && find . -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) | sort | xargs cat | sha256sum | cut -c1-12)"
DIR="$CACHE/actionlint-$VERSION-$HASH"
BIN="$DIR/actionlint"

build() {
    local started=$SECONDS log minor
    command -v go >/dev/null 2>&1 || die "actionlint $VERSION is not built yet and Go is not installed to build it.
  Install Go 1.$GO_MIN_MINOR or newer (https://go.dev/doc/install; Debian/Ubuntu: apt-get install golang-go),
  then run this again; it builds into $DIR once."
    minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
    [ "$minor" -ge "$GO_MIN_MINOR" ] 2>/dev/null || die "Go $(go env GOVERSION) is too old to build actionlint; install Go 1.$GO_MIN_MINOR or newer."
    mkdir -p "$DIR"
    log="$DIR/actionlint.build.log"
    say "building actionlint $VERSION from its Go module into $DIR (first run only)..."
    # go.sum pins every module; -mod=readonly refuses to change go.mod or go.sum instead of resolving anew.
    if ! (cd "$MODULE" && GOFLAGS="${GOFLAGS:-} -mod=readonly" \
        go build -trimpath -ldflags "-s -w -X $PACKAGE.version=$VERSION" -o "$BIN.partial" "$PACKAGE/cmd/actionlint") >"$log" 2>&1 ||
        [ ! -x "$BIN.partial" ]; then
        tail -n 30 "$log" >&2
        die "building actionlint failed (whole log: $log)"
    fi
    mv "$BIN.partial" "$BIN" # the binary appears only when complete
    say "built actionlint in $((SECONDS - started))s"
}

if [ ! -x "$BIN" ]; then
    mkdir -p "$CACHE"
    # One build at a time: parallel first runs would build the same binary twice. Its own lock, so a
    # lint does not wait for scripts/toolchain.sh's much longer builds.
    exec 9>"$CACHE/.actionlint.lock"
    flock 9
    [ -x "$BIN" ] || build
    flock -u 9
    exec 9>&-
fi

exec "$BIN" "$@"
