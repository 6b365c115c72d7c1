#!/usr/bin/env bash
# Make sure Debian's chromium package is installed (the browser tests and the PDF reports
# drive it through Playwright; no browser is ever downloaded by Playwright itself).
#
#   scripts/ci/ensure_chromium.sh        # installs it with apt where missing
set -euo pipefail

if [[ -x "${OPSMETRICS_CHROMIUM:-/usr/bin/chromium}" ]]; then
    exit 0
fi
as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}
echo "ensure_chromium: installing Debian's chromium package" >&2
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core > /dev/null
