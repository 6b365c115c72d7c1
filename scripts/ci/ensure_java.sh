#!/usr/bin/env bash
# Make sure a Java runtime (17 or later) is on PATH: PySpark starts Spark's JVM from it
# (make test-spark, `--target spark`). Installs Debian's openjdk-17-jre-headless where
# missing; never downloads a JDK from anywhere else.
#
#   scripts/ci/ensure_java.sh        # installs it with apt where missing
set -euo pipefail

java_major() {
    java -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p'
}
if command -v java > /dev/null && [[ "$(java_major)" -ge 17 ]]; then
    exit 0
fi
exec "$(dirname "$0")/apt_install.sh" openjdk-17-jre-headless
