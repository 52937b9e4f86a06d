#!/usr/bin/env bash
# Debian packages the tests need: a PostgreSQL server (store tests on a real server)
# and Chromium (the real-browser test of the annotator). Installs only what is missing.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: postgresql, chromium"
  exit 0
fi

echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a cluster service on install; the tests run their own.
$SUDO service postgresql stop >/dev/null 2>&1 || true
echo "installed: ${missing[*]}"
