#!/usr/bin/env bash
# A user's view of the artifact: installs inkwell-java-api into the local Maven repository
# (quick when the build is up to date), then builds examples/consumer, a separate project
# that only depends on dev.inkwell:inkwell-java-api, and runs it on the module path and on
# the class path with the JVM flags the README gives. CI calls it after scripts/test.sh.
# Extra arguments go to the install step (e.g. -Dnative.build.dir=...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=env.sh
source "$root/scripts/env.sh"
inkwell_env

echo "consumer-check: installing inkwell-java-api (mvn -pl java-api -am install -DskipTests)"
(cd "$root" && mvn -B -q -pl java-api -am install -DskipTests "$@")

consumer="$root/examples/consumer"
echo "consumer-check: building examples/consumer against the installed artifact"
(cd "$consumer" && mvn -B -q package -DskipTests)
classpath_file="$consumer/target/classpath.txt"
(cd "$consumer" && mvn -B -q dependency:build-classpath -Dmdep.outputFile="$classpath_file" -Dmdep.includeScope=runtime)
deps="$(cat "$classpath_file")"

echo "consumer-check: running it on the module path"
"$JAVA_HOME/bin/java" --enable-native-access=dev.inkwell,dev.inkwell.bindings -Djava.awt.headless=true \
    -p "$consumer/target/classes:$deps" -m dev.inkwell.example/dev.inkwell.example.Consumer
echo "consumer-check: running it on the class path"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true \
    -cp "$consumer/target/classes:$deps" dev.inkwell.example.Consumer
echo "consumer-check: OK"
