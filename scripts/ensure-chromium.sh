#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing. The tests drive it through
# Playwright with executable_path=/usr/bin/chromium: Playwright's own browser download
# (`playwright install`) cannot reach its servers from our machines, Debian's mirror can.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "installing Chromium from Debian's packages"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null || { echo "Chromium: NOT available at $CHROMIUM"; exit 1; }
