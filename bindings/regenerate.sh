#!/usr/bin/env bash
# Regenerates the checked-in Java bindings (bindings/src/main/java/dev/inkwell/bindings)
# from the one native header, native/include/inkwell/inkwell.h. Run it after every change
# to the header; a test fails when the header declares a function with no binding.
#
# Needs an installed jextract (on PATH, or $JEXTRACT). jextract is in no package registry:
# build it from https://github.com/openjdk/jextract against libclang (see README.md).
# Output is never edited by hand; loading the library is done by dev.inkwell.internal.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jextract="${JEXTRACT:-jextract}"
header="$root/native/include/inkwell/inkwell.h"
out="$root/bindings/src/main/java"
package=dev.inkwell.bindings
# The jextract release the checked-in output was made with; others may format it differently.
pinned_version="jextract 23"

command -v "$jextract" >/dev/null 2>&1 || {
    echo "regenerate.sh: jextract not found (set JEXTRACT or put it on PATH)" >&2
    exit 1
}
version="$("$jextract" --version 2>&1 | head -n 1)"
if [ "$version" != "$pinned_version" ]; then
    echo "regenerate.sh: warning: using '$version', the bindings were made with '$pinned_version'" >&2
fi

# Only our own symbols: take jextract's list of everything the header pulls in and keep the
# inkwell_/INKWELL_ names, so stdint.h's hundreds of declarations stay out.
includes="$(mktemp)"
trap 'rm -f "$includes"' EXIT
"$jextract" --dump-includes "$includes" "$header" >/dev/null
mapfile -t options < <(grep -E -- '--include-[a-z]+ +(inkwell_|INKWELL_)' "$includes" | awk '{print $1; print $2}')

rm -rf "$out/${package//.//}"
"$jextract" \
    --output "$out" \
    --target-package "$package" \
    --header-class-name InkwellNative \
    "${options[@]}" \
    "$header"

# The header these bindings were made from, by content: BindingsTest fails when the header
# changes (even a comment) without a rerun of this script.
stamp="$root/bindings/src/main/resources/dev/inkwell/bindings/inkwell.h.sha256"
mkdir -p "$(dirname "$stamp")"
sha256sum "$header" | awk '{print $1}' > "$stamp"

echo "regenerated $(find "$out/${package//.//}" -name '*.java' | wc -l) files in ${out#"$root"/}/${package//.//}"
