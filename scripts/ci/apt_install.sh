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
echo "apt_install: installing Debian's $*" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$@" > /dev/null
