#!/usr/bin/env bash
# Install the browser the report's browser test drives (tests/test_report_browser.py):
# headless Chromium and its chromedriver from Debian's archive (Selenium drives it; selenium
# itself comes with the test extras, pip install -e '.[test]'). Does nothing when both are
# there. Needs root (or sudo) on a fresh machine.
set -euo pipefail
check() {
  command -v chromium >/dev/null 2>&1 && chromium --headless --no-sandbox --version >/dev/null 2>&1 \
    && command -v chromedriver >/dev/null 2>&1 && chromedriver --version >/dev/null 2>&1
}
if check; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "the test browser" chromium chromium-driver
check
