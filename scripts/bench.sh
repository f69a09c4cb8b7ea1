#!/usr/bin/env bash
# The benchmarks in bench/: all of them, or the ones named (stageUp, copy, warm, pitr, failover, engine, backup, remoteHosts). Run through toolchain.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(stageUp copy warm pitr failover engine backup remoteHosts)
for name in "${names[@]}"; do
    ts-node --transpile-only "$ROOT/bench/$name.ts"
done
