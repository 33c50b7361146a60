#!/usr/bin/env bash
# Install the browser the report's browser test drives (tests/test_report_browser.py):
# headless Chromium from Debian's archive. Does nothing when it is already there.
# Needs root (or sudo) on a fresh machine.
set -euo pipefail
packages=(chromium)
check() { command -v chromium >/dev/null 2>&1 && chromium --headless --no-sandbox --version >/dev/null 2>&1; }
if check; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "Installing the test browser from Debian: ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
check
