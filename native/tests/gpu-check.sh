#!/usr/bin/env bash
# The GPU check of the CUDA backend, for a machine with an NVIDIA GPU, nvcc and cmake (no
# Java, no network needed; python3 with torch and cv2 for the anchors). One command:
#
#   native/tests/gpu-check.sh            results in $OUT (or ./gpu-check-out without $OUT)
#
# Steps, each logged with its status and time, each continuing after a failure of the one
# before (except that nothing runs without a build), all within about 8 minutes:
#   info        nvidia-smi, nvcc, cmake versions
#   configure   Release, INKWELL_CUDA=ON, CUDA architecture of this GPU only (faster build)
#   build       libinkwell, libinkwell_cuda, the native tests, bench_cuda
#   ctest       every native test; INKWELL_REQUIRE_CUDA=1 so the CUDA tests must run, not skip
#   bench       bench_cuda: the CUDA kernels on the issue's shapes, event-timed (conv2d and
#               attention also in f16/bf16 on tensor cores)
#   anchors     gpu_anchors.py: torch SDPA, cuDNN conv2d (float32, and f16/bf16 next to the
#               16-bit rows), the DDIM step as torch ops, cv2.Canny
#   java        with .gpu-carry/ from scripts/gpu-prepare.sh: `inkwell verify --device cuda`
#               on every golden case, `inkwell crosscheck --device cuda` (every kernel and
#               element type, CUDA against the CPU through the Java API) and
#               `inkwell canny --device cuda` on a 1080p image, with the library built above
#   memcheck    compute-sanitizer memcheck over every CUDA test (if installed; time-boxed,
#               last with racecheck, so the budget cuts them first; INKWELL_TEST_SANITIZER=1:
#               the 16-bit tests run one case per kernel path)
#   racecheck   compute-sanitizer racecheck over the tests of the kernels that share memory
#               between threads: Canny, attention, blur, metrics (idem)
# Outputs: $OUT/gpu-results.txt (summary, then every step's log), $OUT/gpu-results.json,
# $OUT/<step>.log. Exit status: 0 if configure, build and ctest passed.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$PWD/gpu-check-out}
mkdir -p "$out"
build=${INKWELL_GPU_BUILD_DIR:-$root/build/gpu-check}
budget=${INKWELL_GPU_CHECK_SECONDS:-480}
start=$(date +%s)
summary=$out/summary.txt
: > "$summary"
declare -A status

# step NAME LIMIT_SECONDS COMMAND...: runs with a timeout that also respects the total budget.
step() {
    local name=$1 limit=$2
    shift 2
    local now left t0 rc
    now=$(date +%s)
    left=$((start + budget - now))
    if ((left < 10)); then
        status[$name]="skipped (time budget spent)"
        echo "[$name] skipped: time budget spent" | tee -a "$summary"
        return 1
    fi
    ((limit > left)) && limit=$left
    echo "[$name] start (limit ${limit}s): $*" | tee -a "$summary"
    t0=$(date +%s)
    timeout -k 10 "$limit" "$@" > "$out/$name.log" 2>&1
    rc=$?
    local took=$(($(date +%s) - t0))
    if ((rc == 0)); then
        status[$name]="ok (${took}s)"
    elif ((rc == 124 || rc == 137)); then
        status[$name]="TIMEOUT after ${took}s"
    else
        status[$name]="FAILED rc=$rc (${took}s)"
    fi
    echo "[$name] ${status[$name]}" | tee -a "$summary"
    tail -n 5 "$out/$name.log" | sed 's/^/    /' | tee -a "$summary"
    return $rc
}

info() {
    nvidia-smi || true
    nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm --format=csv || true
    nvcc --version || true
    cmake --version || true
    python3 -c 'import torch, cv2; print("torch", torch.__version__, "cuda", torch.version.cuda, "cv2", cv2.__version__)' || true
    command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || echo "no compute-sanitizer"
}
export -f info
step info 30 bash -c info

# The GPU's architecture only (e.g. 90-real); the default list if nvidia-smi cannot say.
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
arch_flag=()
[[ $arch =~ ^[0-9]+$ ]] && arch_flag=(-DCMAKE_CUDA_ARCHITECTURES="${arch}-real")
command -v nvcc > /dev/null || export PATH=/usr/local/cuda/bin:$PATH

step configure 90 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DINKWELL_CUDA=ON "${arch_flag[@]}"
configured=$?
built=1
if ((configured == 0)); then
    step build 240 cmake --build "$build" --parallel "$(nproc)"
    built=$?
fi
tested=1
if ((built == 0)); then
    step ctest 150 env INKWELL_REQUIRE_CUDA=1 ctest --test-dir "$build" --output-on-failure --timeout 120
    tested=$?
    step bench 90 "$build/native/tests/bench_cuda" "$out/bench_cuda.jsonl"
fi
step anchors 120 python3 "$root/native/tests/gpu_anchors.py" "$out/anchors.jsonl"

# The Java path, when scripts/gpu-prepare.sh's runtime, jars and golden files came along.
carry_dir=$root/.gpu-carry
if ((built == 0)) && [[ -f $carry_dir/jre.tgz && -f $carry_dir/golden.tgz ]]; then
    java_check() {
        local work rc=0
        work=$(mktemp -d)
        tar xzf "$carry_dir/jre.tgz" -C "$work" && tar xzf "$carry_dir/golden.tgz" -C "$work" || return 1
        local java=("$work/jre/bin/java" --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true
            "-Dinkwell.library.path=$build/lib/libinkwell.so" -cp "$carry_dir/lib/*" dev.inkwell.cli.Main)
        "${java[@]}" version || rc=1
        if [[ -f $work/golden/manifest.json ]]; then
            "${java[@]}" verify --device cuda --golden "$work/golden" || rc=1
        fi
        if [[ -f $work/golden/models/manifest.json ]]; then # scripts/gpu-prepare.sh --models
            "${java[@]}" verify --device cuda --golden "$work/golden/models" --save "$out/models-cuda" || rc=1
        fi
        if [[ -f $work/golden/layers/manifest.json ]]; then
            "${java[@]}" verify --device cuda --golden "$work/golden/layers" || rc=1
        fi
        "${java[@]}" crosscheck --device cuda || rc=1
        local img
        img=$(find "$work/golden" -name '*.png' -size +100k | head -n 1)
        if [[ -n $img ]]; then
            "${java[@]}" canny "$img" "$out/canny-cuda.png" --device cuda || rc=1
            "${java[@]}" canny "$img" "$out/canny-cpu.png" --device cpu || rc=1
            cmp "$out/canny-cuda.png" "$out/canny-cpu.png" && echo "canny --device cuda == --device cpu, byte for byte" || rc=1
        fi
        rm -rf "$work"
        return $rc
    }
    export -f java_check
    export carry_dir build out
    step java 150 bash -c java_check
else
    echo "[java] skipped: no .gpu-carry (run scripts/gpu-prepare.sh and carry .gpu-carry), build ${built}" | tee -a "$summary"
fi

sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if ((built == 0)) && [[ -n $sanitizer ]]; then
    memcheck() {
        local rc=0
        local exe
        for exe in "$build"/native/tests/test_cuda_*; do
            [[ -x $exe ]] || continue
            echo "== ${exe##*/}"
            INKWELL_REQUIRE_CUDA=1 INKWELL_TEST_SANITIZER=1 timeout -k 5 40 "$sanitizer" --tool memcheck \
                --error-exitcode 99 "$exe" || { rc=1; echo "== ${exe##*/}: memcheck failed or timed out"; }
        done
        return $rc
    }
    racecheck() {
        local rc=0
        for t in test_cuda_canny test_cuda_attention test_cuda_gaussian_blur test_cuda_metrics; do
            echo "== $t"
            INKWELL_REQUIRE_CUDA=1 INKWELL_TEST_SANITIZER=1 timeout -k 5 45 "$sanitizer" --tool racecheck --error-exitcode 99 \
                "$build/native/tests/$t" || { rc=1; echo "== $t: racecheck failed or timed out"; }
        done
        return $rc
    }
    export -f memcheck racecheck
    export sanitizer build
    step memcheck 150 bash -c memcheck
    step racecheck 120 bash -c racecheck
else
    echo "[sanitizer] skipped: ${sanitizer:-no compute-sanitizer}, build ${built}" | tee -a "$summary"
fi

# Results: the summary, the benchmark next to its anchors, then every log.
{
    echo "Inkwell GPU check, $(date -u +%FT%TZ), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "total $(($(date +%s) - start))s"
    for s in info configure build ctest bench anchors java memcheck racecheck; do
        printf '  %-10s %s\n' "$s" "${status[$s]:-not run}"
    done
    echo
    echo "== bench_cuda"
    grep -v '^\[' "$out/bench.log" 2>/dev/null || echo "(none)"
    echo
    echo "== anchors"
    cat "$out/anchors.log" 2>/dev/null || echo "(none)"
    echo
    echo "== 16-bit (tensor cores) next to torch: Inkwell TFLOP/s, torch TFLOP/s, Inkwell / torch"
    python3 - "$out" <<'PY' 2>&1 || echo "(not available)"
import json, os, sys
rows = {}
for name in ("bench_cuda.jsonl", "anchors.jsonl"):
    path = os.path.join(sys.argv[1], name)
    if os.path.exists(path):
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                rows[r["case"]] = r
for case, r in rows.items():
    if r.get("source") != "inkwell_cuda" or "TFLOP/s" not in r:
        continue
    # bench "attention f16 B=..." <-> anchor "torch sdpa f16 B=...", "conv2d f16 [...]" <-> "torch conv2d f16 [...]"
    anchor = rows.get("torch " + case.replace("attention ", "sdpa ", 1), {})
    mine, theirs = r["TFLOP/s"], anchor.get("TFLOP/s")
    ratio = f"{mine / theirs:6.2f}" if theirs else "     -"
    print(f"  {case:<48} {mine:8.1f} {theirs if theirs is not None else float('nan'):8.1f} {ratio}")
PY
    echo
    echo "== ctest (tail)"
    tail -n 40 "$out/ctest.log" 2>/dev/null || echo "(none)"
    echo
    echo "== java (tail)"
    tail -n 30 "$out/java.log" 2>/dev/null || echo "(none)"
    echo
    echo "== step log"
    cat "$summary"
} > "$out/gpu-results.txt"
python3 - "$out" <<'PY' || true
import json, os, sys
out = sys.argv[1]
rows = []
for name in ("bench_cuda.jsonl", "anchors.jsonl"):
    path = os.path.join(out, name)
    if os.path.exists(path):
        rows += [json.loads(line) for line in open(path) if line.strip()]
steps = {}
for line in open(os.path.join(out, "summary.txt")):
    if line.startswith("[") and "] start" not in line:
        name, _, rest = line[1:].partition("] ")
        steps[name] = rest.strip()
json.dump({"steps": steps, "results": rows}, open(os.path.join(out, "gpu-results.json"), "w"), indent=1)
PY
cat "$out/gpu-results.txt" | head -n 80
((configured == 0 && built == 0 && tested == 0))
