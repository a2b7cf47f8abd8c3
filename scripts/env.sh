# Sourced by ./inkwell, scripts/test.sh and .ci/run: finds (or installs) what the build
# needs and exports JAVA_HOME. Says clearly what is missing; never half-succeeds.
#   JDK >= 25 (FFM is final from 22; the project compiles for 25): $JAVA_HOME if it is one,
#     else the newest under /usr/lib/jvm (or $INKWELL_JVM_DIR).
#   cmake >= 3.20, g++ (C++17), mvn: from PATH; installed with apt-get when missing and
#     running as root.

inkwell_fail() {
    echo "inkwell: $*" >&2
    return 1
}

inkwell_java_major() { # prints the feature version of the JDK at $1, or nothing
    [ -x "$1/bin/javac" ] || return 0
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

inkwell_find_jdk() {
    local want=25 best="" best_major=0 dir major
    if [ -n "${JAVA_HOME:-}" ]; then
        major="$(inkwell_java_major "$JAVA_HOME")"
        if [ -n "$major" ] && [ "$major" -ge "$want" ]; then
            return 0
        fi
        echo "inkwell: JAVA_HOME=$JAVA_HOME is JDK ${major:-?}, need >= $want; looking elsewhere" >&2
    fi
    for dir in "${INKWELL_JVM_DIR:-/usr/lib/jvm}"/*; do
        [ -d "$dir" ] || continue
        major="$(inkwell_java_major "$dir")"
        if [ -n "$major" ] && [ "$major" -ge "$want" ] && [ "$major" -gt "$best_major" ]; then
            best="$dir"
            best_major="$major"
        fi
    done
    if [ -z "$best" ]; then
        inkwell_fail "no JDK >= $want found (JAVA_HOME unset or older, nothing suitable in ${INKWELL_JVM_DIR:-/usr/lib/jvm}). Install a JDK 25 (e.g. Temurin 25) and set JAVA_HOME."
        return 1
    fi
    export JAVA_HOME="$best"
}

inkwell_need_tool() { # $1 command, $2 Debian package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "inkwell: $1 not found; installing Debian package $2" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2") >&2 ||
            { inkwell_fail "could not install $2 (needed for $1)"; return 1; }
    else
        inkwell_fail "$1 not found: install $2 (Debian/Ubuntu: apt-get install $2)"
        return 1
    fi
}

inkwell_env() {
    inkwell_find_jdk || return 1
    inkwell_need_tool cmake cmake || return 1
    inkwell_need_tool g++ g++ || return 1
    inkwell_need_tool make make || return 1
    inkwell_need_tool mvn maven || return 1
    export PATH="$JAVA_HOME/bin:$PATH"
}
