#!/usr/bin/env bash
# Makes the Pulumi toolchain and this checkout's npm dependencies ready, then runs a command with the
# environment every stagewise command uses. Idempotent, and quiet when there is nothing to do.
#
#   bash scripts/toolchain.sh [command args...]
#
# - A `pulumi` on PATH at least as new as the pinned SDK is used as it is; nothing gets built.
# - Otherwise the Pulumi CLI, a Node.js language host and the command provider are built from Go
#   sources (toolchain/*) and cached outside the work tree, keyed by version and source hash.
# - State lives in a file backend inside the project (.pulumi/, git-ignored); update checks and
#   automatic plugin downloads are off.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PULUMI_VERSION="$(node -p 'require(process.argv[1]).dependencies["@pulumi/pulumi"]' "$ROOT/package.json")"
COMMAND_VERSION="$(node -p 'require(process.argv[1]).dependencies["@pulumi/command"]' "$ROOT/package.json")"
CACHE="${STAGEWISE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stagewise}/toolchain"
GO_MIN_MINOR=21 # older Go cannot fetch the newer toolchain these modules ask for

say() { echo "stagewise: $*" >&2; }
die() { echo "stagewise: $*" >&2; exit 1; }

ensure_node_modules() {
    local want have=""
    want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
    [ -f "$ROOT/node_modules/.stagewise-lock.sha256" ] && have="$(cat "$ROOT/node_modules/.stagewise-lock.sha256")"
    if [ "$want" != "$have" ]; then
        say "installing npm dependencies..."
        # `npm install`, not `npm ci`: npm 11 writes lockfiles without other platforms' optional
        # packages and then refuses them in `npm ci`. The lockfile still pins every version.
        (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
        echo "$want" >"$ROOT/node_modules/.stagewise-lock.sha256"
    fi
}

# version_at_least A B: is version A (vX.Y.Z) >= B?
version_at_least() {
    [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n1)" = "${2#v}" ]
}

# Hash of a wrapper module's sources, so a change to them builds anew.
source_hash() {
    (cd "$ROOT/toolchain/$1" && find . -maxdepth 1 \( -name '*.go' -o -name go.mod -o -name go.sum \) | sort | xargs cat | sha256sum | cut -c1-12)
}

require_go() {
    command -v go >/dev/null 2>&1 || die "no Pulumi CLI (>= v$PULUMI_VERSION) is on PATH and Go is not installed to build one.
  Install either the Pulumi CLI v$PULUMI_VERSION or newer (https://www.pulumi.com/docs/install/),
  or Go 1.$GO_MIN_MINOR or newer (https://go.dev/doc/install; Debian/Ubuntu: apt-get install golang-go), then run this again."
    local minor
    minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
    [ "$minor" -ge "$GO_MIN_MINOR" ] 2>/dev/null || die "Go $(go env GOVERSION) is too old to build the Pulumi toolchain; install Go 1.$GO_MIN_MINOR or newer."
}

# go_build MODULE NAME DIR PACKAGE LDFLAGS: builds toolchain/MODULE's PACKAGE into DIR/NAME, showing
# progress; the binary appears only when complete.
go_build() {
    local module="$1" name="$2" dir="$3" package="$4" ldflags="$5" started=$SECONDS log pid
    require_go
    mkdir -p "$dir"
    log="$dir/$name.build.log"
    say "building $name from Go modules into $dir (first run only)..."
    (
        cd "$ROOT/toolchain/$module"
        # The checksum database does not list every Pulumi module version; go.sum pins them instead.
        GONOSUMDB="github.com/pulumi${GONOSUMDB:+,$GONOSUMDB}" GOFLAGS="${GOFLAGS:-} -mod=readonly" \
            exec go build -v -trimpath -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$dir/$name.partial" "$package"
    ) >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 3
        # `go build -v` prints one line a compiled package.
        if [ $(((SECONDS - started) % 30)) -lt 3 ] && [ $((SECONDS - started)) -ge 30 ]; then
            say "  $name: $(wc -l <"$log") packages compiled so far ($((SECONDS - started))s)"
        fi
    done
    if ! wait "$pid" || [ ! -x "$dir/$name.partial" ]; then
        tail -n 30 "$log" >&2
        die "building $name failed (whole log: $log)"
    fi
    mv "$dir/$name.partial" "$dir/$name"
    say "built $name in $((SECONDS - started))s"
}

# The engine finds the language host and the dynamic-provider plugin (a small script; ours is the Node
# SDK's with a faster start, see the script) "bundled" next to the `pulumi` it runs, so the three share
# one folder; anything found on PATH instead draws a warning on every run.
DYNAMIC_PLUGIN="pulumi-resource-pulumi-nodejs"

ensure_built_cli() {
    local cli_dir="$CACHE/cli-v$PULUMI_VERSION-$(source_hash pulumi-cli)"
    [ -x "$cli_dir/pulumi" ] || go_build pulumi-cli pulumi "$cli_dir" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"

    local bin="$CACHE/bin-v$PULUMI_VERSION-$(source_hash pulumi-cli)-$(source_hash pulumi-language-nodejs)"
    [ -x "$bin/pulumi-language-nodejs" ] || go_build pulumi-language-nodejs pulumi-language-nodejs "$bin" . \
        "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
    if [ ! -x "$bin/pulumi" ]; then
        # A hard link, not a symlink: the engine looks next to the resolved executable.
        ln -f "$cli_dir/pulumi" "$bin/pulumi.partial" 2>/dev/null || cp "$cli_dir/pulumi" "$bin/pulumi.partial"
        mv "$bin/pulumi.partial" "$bin/pulumi"
    fi
    if ! cmp -s "$ROOT/toolchain/$DYNAMIC_PLUGIN" "$bin/$DYNAMIC_PLUGIN"; then
        install -m 0755 "$ROOT/toolchain/$DYNAMIC_PLUGIN" "$bin/$DYNAMIC_PLUGIN.partial"
        mv "$bin/$DYNAMIC_PLUGIN.partial" "$bin/$DYNAMIC_PLUGIN" # running engines keep a whole script
    fi
    export PATH="$bin:$PATH"
}

ensure_command_plugin() {
    local plugins="${PULUMI_HOME:-$HOME/.pulumi}/plugins"
    local installed="$plugins/resource-command-v$COMMAND_VERSION/pulumi-resource-command"
    # A normal Pulumi installation may already have it, or can fetch it once, explicitly.
    if [ "$USE_SYSTEM_PULUMI" = 1 ]; then
        [ -x "$installed" ] && return
        pulumi plugin install resource command "$COMMAND_VERSION" >&2 2>/dev/null && return
        say "could not download the command provider $COMMAND_VERSION; building it instead"
    fi
    local dir="$CACHE/pulumi-resource-command-v$COMMAND_VERSION-$(source_hash pulumi-resource-command)"
    [ -x "$dir/pulumi-resource-command" ] || go_build pulumi-resource-command pulumi-resource-command "$dir" . \
        "-s -w -X main.version=$COMMAND_VERSION"
    # Into the engine's plugin cache, where it is found by exact version without any download.
    if ! cmp -s "$dir/pulumi-resource-command" "$installed"; then
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
            pulumi plugin install resource command "$COMMAND_VERSION" --file "$dir/pulumi-resource-command" >&2
    fi
}

ensure_toolchain() {
    local system
    USE_SYSTEM_PULUMI=0
    system="$(command -v pulumi || true)"
    if [ -n "$system" ] && [ "${STAGEWISE_BUILD_TOOLCHAIN:-0}" != 1 ] &&
        version_at_least "$(pulumi version 2>/dev/null || echo v0)" "v$PULUMI_VERSION"; then
        USE_SYSTEM_PULUMI=1
    else
        ensure_built_cli
    fi
    ensure_command_plugin
}

ensure_backend() {
    mkdir -p "$ROOT/.pulumi/state"
    export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$ROOT/.pulumi/state}"
    # Local stacks share one documented passphrase so the committed stack files (their
    # encryptionsalt) work in every checkout. Set your own for anything that matters.
    if [ -z "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
        export PULUMI_CONFIG_PASSPHRASE="stagewise-local-stacks"
    fi
    # npm test and npm run typecheck type-check everything; programs run through ts-node (the policy
    # pack, examples/consumer) skip it (about 2 s a run). The stages' program never uses ts-node.
    export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
    export PULUMI_SKIP_UPDATE_CHECK=true
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
}

mkdir -p "$CACHE"
# One setup at a time per machine: parallel first runs would build the same binaries twice.
exec 9>"$CACHE/.lock"
flock 9
ensure_node_modules
ensure_toolchain
ensure_backend
flock -u 9

if [ $# -gt 0 ]; then
    exec "$@"
fi
