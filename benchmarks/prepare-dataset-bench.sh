#!/usr/bin/env bash
# images/s of ControlNet training-pair preparation on 1080p inputs, three ways, in one run:
#   spark     ./inkwell prepare-dataset IN OUT --master local[2] (the job's own summary: listing,
#             tasks and the driver's files; not the JVM and Spark start-up, printed apart)
#   jvm-loop  a plain single-JVM loop with one Inkwell context (PrepareDatasetLoop.java)
#   opencv    the same work in Python with OpenCV as controlnet_aux does it (HWC3, resize_image,
#             Canny; prepare_dataset_bench.py)
# Each: read the JPEG, annotate at 512 with thresholds 100/200, write source/ and target/ PNGs
# and prompt.json. ROUNDS rounds, interleaved; the median per way and its ratio to OpenCV.
#   benchmarks/prepare-dataset-bench.sh [N=40] [ROUNDS=3]     (work folder: build/prepare-dataset-bench)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-40}"
rounds="${2:-3}"
work="${INKWELL_BENCH_DIR:-$root/build/prepare-dataset-bench}"
py=/usr/bin/python3
bench="$root/benchmarks"

# shellcheck source=../scripts/env.sh
source "$root/scripts/env.sh"
inkwell_env
if ! "$py" -c "import cv2" 2>/dev/null; then
    echo "prepare-dataset-bench: needs OpenCV for $py (apt-get install -y python3-opencv)" >&2
    exit 1
fi

in="$work/in-$n"
if [ ! -f "$in/frame$(printf %04d $((n - 1))).jpg" ]; then
    echo "prepare-dataset-bench: making $n 1920x1080 JPEGs in $in" >&2
    rm -rf "$in"
    "$py" "$bench/prepare_dataset_bench.py" make "$in" "$n"
fi

# Builds the CPU library, the API and the spark module when needed (./inkwell's rules).
"$root/inkwell" prepare-dataset --help >/dev/null
cp="$root/spark/target/inkwell-spark-0.1.0-SNAPSHOT.jar:$root/java-api/target/inkwell-java-api-0.1.0-SNAPSHOT.jar:$(cat "$root/spark/target/classpath.txt")"

echo "prepare-dataset-bench: $n images 1920x1080 JPEG, resolution 512, $rounds rounds; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A rates
for r in $(seq 1 "$rounds"); do
    rm -rf "$work/out-opencv" "$work/out-loop" "$work/out-spark"
    line="$("$py" "$bench/prepare_dataset_bench.py" opencv "$in" "$work/out-opencv")"
    echo "  round $r $line"
    rates[opencv]+="$(sed -n 's/.*, \([0-9.]*\) images\/s.*/\1/p' <<<"$line") "

    line="$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -cp "$cp" \
        "$bench/PrepareDatasetLoop.java" "$in" "$work/out-loop")"
    echo "  round $r $line"
    rates[jvm-loop]+="$(sed -n 's/.*, \([0-9.]*\) images\/s.*/\1/p' <<<"$line") "

    start=$(date +%s.%N)
    line="$("$root/inkwell" prepare-dataset "$in" "$work/out-spark" --master 'local[2]')"
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    echo "  round $r spark local[2]: $line (whole command with JVM and Spark start-up: $(printf %.1f "$wall") s)"
    rates[spark]+="$(sed -n 's/.*, \([0-9.]*\) images\/s.*/\1/p' <<<"$line") "
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
cv=$(median "${rates[opencv]}")
echo "medians (images/s; ratio to OpenCV):"
for way in spark jvm-loop opencv; do
    m=$(median "${rates[$way]}")
    printf '  %-9s %8.2f  x%.2f\n' "$way" "$m" "$(echo "$m / $cv" | bc -l)"
done
mb() { echo "$(du -sb "$1/source" "$1/target" | awk '{s += $1} END {printf "%.1f", s / 1e6}') MB"; }
echo "PNGs written (source + target): spark $(mb "$work/out-spark"), jvm-loop $(mb "$work/out-loop"), opencv $(mb "$work/out-opencv")"
echo "control maps, spark against jvm-loop: $("$py" "$bench/prepare_dataset_bench.py" compare "$work/out-spark" "$work/out-loop")"
echo "control maps, spark against opencv:   $("$py" "$bench/prepare_dataset_bench.py" compare "$work/out-spark" "$work/out-opencv")"
echo "  (the JPEGs are decoded by ImageIO on the JVM and by libjpeg-turbo in OpenCV: the decoded pixels may differ)"
