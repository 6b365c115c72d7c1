#!/usr/bin/env bash
# Make sure Debian's chromium package is installed (the browser tests and the PDF reports
# drive it through Playwright; no browser is ever downloaded by Playwright itself).
#
#   scripts/ci/ensure_chromium.sh        # installs it with apt where missing
set -euo pipefail

if [[ -x "${OPSMETRICS_CHROMIUM:-/usr/bin/chromium}" ]]; then
    exit 0
fi
exec "$(dirname "$0")/apt_install.sh" chromium fonts-dejavu-core
