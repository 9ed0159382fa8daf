#!/usr/bin/env bash
# The Debian packages the suite needs beyond Python and Node: Compose checks docker-compose.yml
# (`config` needs no engine), Chromium runs the console's browser test (Playwright drives the
# system's Chromium, it never downloads one) and Kannel (bearerbox, smsbox, and its test SMSC
# fakesmsc from kannel-extras) carries the SMS of tests/e2e/test_kannel.py. Installs only what is missing.
set -euo pipefail

missing=()
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
[ -x "${SIAGA_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
# Debian installs the boxes in /usr/sbin, often not on a user's PATH.
command -v bearerbox >/dev/null 2>&1 || [ -x /usr/sbin/bearerbox ] || missing+=(kannel)
[ -x /usr/lib/kannel/test/fakesmsc ] || missing+=(kannel-extras)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  else
    echo "The suite needs these Debian packages: ${missing[*]}" >&2
    echo "Install them once as root:  sudo apt-get install -y ${missing[*]}" >&2
    echo "(or point SIAGA_CHROMIUM at a Chromium you already have), then run make test again." >&2
    exit 1
  fi
else
  as_root=()
fi

echo "Installing Debian packages the suite needs: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null \
  || { "${as_root[@]}" apt-get update -q >/dev/null && "${as_root[@]}" apt-get install -y -q "${missing[@]}" >/dev/null; }
