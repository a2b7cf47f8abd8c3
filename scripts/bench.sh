#!/usr/bin/env bash
# Runs the JMH benchmarks (benchmarks/) and prints JMH's table, then a summary with GFLOP/s,
# % of the measured FMA peak, GB/s and each anchor's time relative to Inkwell's.
#
#   scripts/bench.sh                      # everything, short defaults: -f 1 -wi 2 -i 3 -w 1s -r 1s
#   scripts/bench.sh 'Canny|FfmCall'      # a regex of benchmarks; any JMH option passes through
#   scripts/bench.sh Conv2d -p conv=320x64x64 -i 5
#   scripts/bench.sh --smoke              # CI: every benchmark once, smallest shapes, ~2-3 min;
#                                         # exits 1 if any selected benchmark did not run
#   scripts/bench.sh --check-anchors      # loads libtorch/OpenCV/BoofCV/JNI, runs one conv2d
#   scripts/bench.sh -h                   # JMH's options; -l lists the benchmarks
#
# Builds first when benchmarks/target/benchmarks.jar is missing or older than the sources
# (mvn -B -q -DskipTests package: the native library, the Java API and the benchmarks jar).
# Every library runs with the same thread count: all hardware threads, or
# INKWELL_BENCH_THREADS=N. INKWELL_BENCH_JAVA_OPTIONS adds options to the launching JVM
# (the forks get theirs from @Fork and -jvmArgs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
inkwell_env

jar="$root/benchmarks/target/benchmarks.jar"
stale=""
if [ ! -f "$jar" ]; then
    stale="not built yet"
elif [ -n "$(find "$root/native" "$root/bindings/src" "$root/java-api/src/main" "$root/benchmarks/src" \
            "$root/CMakeLists.txt" "$root"/pom.xml "$root"/*/pom.xml -newer "$jar" -print -quit 2>/dev/null)" ]; then
    stale="sources changed"
fi
if [ -n "$stale" ]; then
    echo "bench: building ($stale; the first build downloads the anchors, ~230 MB)..." >&2
    log="$(mktemp)"
    if ! (cd "$root" && mvn -B -q -DskipTests package >"$log" 2>&1); then
        cat "$log" >&2
        rm -f "$log"
        echo "bench: build failed (output above)" >&2
        exit 1
    fi
    rm -f "$log"
fi

java_opts=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Djava.awt.headless=true)
# shellcheck disable=SC2206
java_opts+=(${INKWELL_BENCH_JAVA_OPTIONS:-})

mode=run
args=()
for a in "$@"; do
    case "$a" in
        --smoke) mode=smoke ;;
        --check-anchors) mode=check ;;
        *) args+=("$a") ;;
    esac
done

if [ "$mode" = check ]; then
    exec "$JAVA_HOME/bin/java" "${java_opts[@]}" -cp "$jar" dev.inkwell.benchmarks.TorchCheck
fi

# Defaults, each left out when the caller gives that option.
has() {
    local want="$1" a
    for a in "${args[@]+"${args[@]}"}"; do
        [ "$a" = "$want" ] && return 0
    done
    return 1
}
jmh=()
if [ "$mode" = smoke ]; then
    java_opts+=(-Dinkwell.bench.strict=true)
    defaults=(-f 1 -wi 0 -i 1 -w 100ms -r 100ms)
    # The smallest shapes that still take every code path (3x3, stride 2, 1x1; self and cross).
    has -p || jmh+=(-p size=1920x1080 -p conv=1280x16x16,320x64x64-s2,320x64x64-1x1
                    -p headDim=40 -p seqLen=1024)
else
    defaults=(-f 1 -wi 2 -i 3 -w 1s -r 1s)
fi
set -- "${defaults[@]}"
while [ $# -gt 0 ]; do
    has "$1" || jmh+=("$1" "$2")
    shift 2
done
# The forks get --enable-native-access from each class's @Fork(jvmArgsAppend), and
# INKWELL_BENCH_THREADS through the environment.

cd "$root"
exec "$JAVA_HOME/bin/java" "${java_opts[@]}" -cp "$jar" dev.inkwell.benchmarks.Report "${jmh[@]}" "${args[@]+"${args[@]}"}"
