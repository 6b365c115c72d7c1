#!/usr/bin/env bash
# Install Debian packages, quietly, as root (through sudo when not root): how the CI
# scripts (ensure_chromium.sh, ensure_java.sh, with_postgres.sh) install what is missing.
#
#   scripts/ci/apt_install.sh <package>...
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: scripts/ci/apt_install.sh <package>..." >&2
    exit 2
fi
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
# One apt at a time: .ci/run installs Chromium, PostgreSQL and Java from two processes.
exec 9> "${TMPDIR:-/tmp}/opsmetrics-apt.lock"
flock 9
echo "apt_install: installing Debian's $*" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$@" > /dev/null
