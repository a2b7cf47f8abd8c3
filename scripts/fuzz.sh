#!/usr/bin/env bash
# Builds the libFuzzer targets (native/fuzz, CMake preset "fuzz": clang, ASan+UBSan) and runs
# each for a bounded time. CI runs it with the default minute in all; run it longer by hand.
# Exits non-zero if any target crashed, leaked, timed out or found a mismatch; the inputs
# that did so stay in build/fuzz/crashes/<target>/, and the script says how to replay them.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/fuzz.sh [--total-seconds N | --seconds-per-target N] [--jobs N] [FILTER]

  --total-seconds N       fuzzing time for all targets together, split evenly (default 60)
  --seconds-per-target N  fuzzing time for each target instead
  --jobs N                build jobs (default 2)
  FILTER                  run only the targets whose name contains FILTER (e.g. canny)
  -h, --help              this text

Targets: build/fuzz/native/fuzz/fuzz_<kernel>. Corpora grow in build/fuzz/corpus/<target>/
(seeded from native/fuzz/seeds/<target>/) and are reused by the next run. Failing inputs go
to build/fuzz/crashes/<target>/; replay one with
  build/fuzz/native/fuzz/fuzz_<kernel> build/fuzz/crashes/<target>/<file>
Clang is installed with apt-get when missing (as root); libFuzzer comes with it.
EOF
}

total_seconds=60
per_target=""
jobs=2
filter=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --total-seconds) total_seconds="${2:?--total-seconds needs a number}"; shift 2 ;;
        --seconds-per-target) per_target="${2:?--seconds-per-target needs a number}"; shift 2 ;;
        --jobs) jobs="${2:?--jobs needs a number}"; shift 2 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) filter="$1"; shift ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
. scripts/env.sh
inkwell_need_tool cmake cmake
inkwell_need_tool clang++ clang
# libFuzzer and the sanitizer runtimes live in Debian's libclang-rt-<major>-dev.
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++ -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then
    runtime="libclang-rt-$(clang++ -dumpversion | cut -d. -f1)-dev"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "fuzz.sh: clang cannot link libFuzzer; installing $runtime" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$runtime" >&2
    else
        echo "fuzz.sh: clang cannot link libFuzzer: install $runtime" >&2
        exit 1
    fi
fi

build=build/fuzz
echo "fuzz.sh: building ($build, clang, ASan+UBSan)"
mkdir -p "$build"
cmake --preset fuzz >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" --parallel "$jobs" >"$build/build.log" 2>&1 || { tail -50 "$build/build.log"; exit 1; }

targets=()
for exe in "$build"/native/fuzz/fuzz_*; do
    [ -x "$exe" ] && [ -f "$exe" ] || continue
    name="$(basename "$exe")"
    case "$name" in *"$filter"*) targets+=("$name") ;; esac
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no target matches '$filter'" >&2; exit 2; }
if [ -z "$per_target" ]; then
    per_target=$((total_seconds / ${#targets[@]}))
    [ "$per_target" -ge 1 ] || per_target=1
fi

# Largest input each target reads to the end: beyond it bytes are ignored (tensors are filled
# from the input, so the float and image targets want a few KiB).
max_len() {
    case "$1" in
        fuzz_context | fuzz_memory) echo 64 ;;
        fuzz_randn) echo 128 ;;
        fuzz_attention | fuzz_conv2d | fuzz_ddim) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

failed=()
total_execs=0
printf '%-24s %10s %8s %8s %s\n' target executions corpus cov result
for name in "${targets[@]}"; do
    corpus="$build/corpus/$name"
    crashes="$build/crashes/$name"
    mkdir -p "$corpus" "$crashes"
    if [ -d "native/fuzz/seeds/$name" ]; then cp -n native/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null || true; fi
    log="$build/logs/$name.log"
    mkdir -p "$build/logs"
    status=0
    # -timeout: one input may take 10 s (a streaming-sized ddim case takes about 1 s);
    # -rss_limit_mb: the biggest cases need a few hundred MiB under ASan.
    "$build/native/fuzz/$name" "$corpus" -max_total_time="$per_target" -max_len="$(max_len "$name")" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -detect_leaks=1 \
        -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
    execs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)"
    cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)"
    files="$(find "$corpus" -type f | wc -l)"
    # The fuzzing runs at the CPU's own SIMD level; the corpus it leaves (seeds and every
    # input that found new coverage) is then replayed once at each lower level, so each
    # dispatch level's kernels meet the same inputs and the same checks.
    replayed="" at=""
    if [ "$status" -eq 0 ]; then
        for level in avx2 scalar; do
            INKWELL_SIMD=$level "$build/native/fuzz/$name" "$corpus" -runs=0 -max_len="$(max_len "$name")" \
                -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -artifact_prefix="$crashes/" \
                >"$build/logs/$name.$level.log" 2>&1 || {
                status=$?
                log="$build/logs/$name.$level.log" at=" at INKWELL_SIMD=$level"
                break
            }
            replayed="$replayed $level"
        done
    fi
    if [ "$status" -eq 0 ]; then
        result="ok (corpus replayed at${replayed})"
    else
        result="FAILED${at} (exit $status)"
        failed+=("$name")
    fi
    printf '%-24s %10s %8s %8s %s\n' "$name" "${execs:-?}" "$files" "${cov:-?}" "$result"
    total_execs=$((total_execs + ${execs:-0}))
    if [ "$status" -ne 0 ]; then
        grep -E 'inkwell fuzz failure|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|Test unit written' "$log" |
            head -5 | sed 's/^/    /'
        echo "    log: $log"
    fi
done
echo "total: ${#targets[@]} targets, $total_execs executions, ${per_target}s each"

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    for name in "${failed[@]}"; do
        for f in "$build/crashes/$name"/*; do
            [ -f "$f" ] && echo "  replay: $build/native/fuzz/$name $f" >&2
        done
    done
    echo "  (a replay prints the case; fix the cause and add the case to native/tests/test_<kernel>.cpp)" >&2
    exit 1
fi
