#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine, and nothing twice:
# Debian packages (redis-server, chromium, firefox-esr) when missing, a local virtualenv with
# the project and its dev tools, and the console's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/firefox-esr ] || need_apt+=(firefox-esr)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages"
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

if [ -f cso_console/package.json ]; then
  lock=cso_console/package-lock.json
  nstamp=cso_console/node_modules/.installed-$(cat cso_console/package.json $lock 2>/dev/null | sha256sum | cut -c1-16)
  if [ ! -f "$nstamp" ]; then
    echo "setup: installing npm packages"
    if [ -f "$lock" ]; then (cd cso_console && npm ci --no-audit --no-fund --loglevel=error)
    else (cd cso_console && npm install --no-audit --no-fund --loglevel=error); fi
    rm -f cso_console/node_modules/.installed-*
    touch "$nstamp"
  fi
fi

# The document detector's loops compiled with numba are compiled on their first import and
# cached beside their modules (about 20 s, once per checkout and change): here, not in the
# first frame or test that needs them. Once cached, the import takes under a second.
.venv/bin/python -c "import booth_client.documents.detect"
