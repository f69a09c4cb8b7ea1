#!/usr/bin/env bash
# The test suite: the Go toolchain wrappers' own tests (when Go is here), then every jest suite
# (unit, integration, e2e). Ends with one "N passed, N failed" line. Run through scripts/toolchain.sh.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
failed=0

# Debian packages the tests need (PostgreSQL, Chromium), installed when missing.
bash "$ROOT/scripts/system-packages.sh" test

if command -v go >/dev/null 2>&1; then
    for module in pulumi-language-nodejs pulumi-resource-command; do
        (cd "$ROOT/toolchain/$module" && GONOSUMDB=github.com/pulumi go test -count=1 ./...) || failed=1
    done
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
(cd "$ROOT" && jest --json --outputFile="$report" "$@") || failed=1
if [ -s "$report" ]; then
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);' "$report"
fi
exit $failed
