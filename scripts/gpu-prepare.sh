#!/usr/bin/env bash
# Prepares what the GPU machine needs for the Java half of native/tests/gpu-check.sh: that
# machine has nvcc, cmake and python but no Java and no network, and receives only the
# checkout plus the ignored paths a session carries. Writes .gpu-carry/ (git-ignored):
#   jre.tgz      a jlinked runtime: java.base + java.desktop (ImageIO for PNG), ~38 MB
#   lib/         the inkwell-java-api and bindings jars
#   golden.tgz   ../shared/golden (or $INKWELL_GOLDEN) without models/ and annotator/, ~40 MB;
#                with --models instead: golden/models' unet, controlnet, vae and pipeline
#                cases only (their manifest with the other keys dropped, written here, the
#                vectors themselves untouched), ~16 MB: the two sets do not fit in one carry
# Carry `.gpu-carry` with the run (64 MiB in all); gpu-check.sh then runs
# `inkwell verify --device cuda` on what came (and `inkwell canny --device cuda`) there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
inkwell_env
set_name=kernels
case "${1:-}" in
    "") ;;
    --models) set_name=models ;;
    *) echo "usage: scripts/gpu-prepare.sh [--models]" >&2; exit 2 ;;
esac
golden="${INKWELL_GOLDEN:-$root/../shared/golden}"
[ -f "$golden/manifest.json" ] || { echo "gpu-prepare: no golden vectors at $golden" >&2; exit 1; }

echo "gpu-prepare: building the Java API jars"
(cd "$root" && mvn -B -q -DskipTests -pl java-api -am package)
carry="$root/.gpu-carry"
rm -rf "$carry"
mkdir -p "$carry/lib"
cp "$root"/java-api/target/inkwell-java-api-*.jar "$root"/java-api/target/lib/*.jar "$carry/lib/"

echo "gpu-prepare: jlink (java.base, java.desktop, java.logging)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.desktop,java.logging --strip-debug --no-man-pages --no-header-files \
    --compress=zip-9 --output "$tmp/jre"
tar czf "$carry/jre.tgz" -C "$tmp" jre
# The carry is limited to 64 MiB in all: the kernel and layer vectors, or the models'.
base="$(basename "$golden")"
if [ "$set_name" = kernels ]; then
    tar czf "$carry/golden.tgz" -C "$(dirname "$golden")" --exclude="$base/models" --exclude="$base/annotator" "$base"
else
    mkdir -p "$tmp/golden/models"
    for d in unet controlnet vae cases; do ln -s "$golden/models/$d" "$tmp/golden/models/$d"; done
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
json.dump({k: v for k, v in m.items() if k not in ("lpips", "lpips_weights")}, open(sys.argv[2], "w"), indent=1)' \
        "$golden/models/manifest.json" "$tmp/golden/models/manifest.json"
    tar czhf "$carry/golden.tgz" -C "$tmp" golden
fi
du -sh "$carry"/* | sed 's/^/gpu-prepare: /'
total=$(du -sm "$carry" | cut -f1)
if ((total > 64)); then
    echo "gpu-prepare: warning: .gpu-carry is ${total} MiB, over the 64 MiB a run may carry" >&2
fi
echo "gpu-prepare: carry .gpu-carry with: native/tests/gpu-check.sh"
