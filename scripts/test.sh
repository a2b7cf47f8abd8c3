#!/usr/bin/env bash
# Runs every test: native (ctest, through Maven), Java unit and golden tests, and compiles
# the benchmarks. The golden vectors are read from ../shared/golden (override with
# INKWELL_GOLDEN); outside CI their tests skip loudly when the folder is missing, in CI
# (CI=true) they fail.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
inkwell_env

golden="${INKWELL_GOLDEN:-$root/../shared/golden}"
if [ ! -f "$golden/manifest.json" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "scripts/test.sh: golden vectors missing at $golden (CI requires them)" >&2
        exit 1
    fi
    echo "scripts/test.sh: WARNING: no golden vectors at $golden: golden tests will be skipped" >&2
fi
golden="$(cd "$golden" 2>/dev/null && pwd || echo "$golden")"

cd "$root"
mvn -B -Dinkwell.golden="$golden" -Dnative.jobs="$(nproc 2>/dev/null || echo 2)" "$@" verify
