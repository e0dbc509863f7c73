#!/usr/bin/env bash
# Make the browser tests runnable: Debian's Chromium with a Chinese font, and Python
# playwright in the virtualenv. Idempotent; never runs `playwright install` (it downloads
# a browser build of its own, which this environment cannot fetch).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wqy"; then
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi

if ! "$VENV/bin/python" -c "import playwright.sync_api" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q playwright
fi
if ! "$VENV/bin/python" -c "import segno" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q segno
fi
echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
