#!/usr/bin/env bash
# Set up what MCP Tray needs on Debian/Ubuntu: system libraries for Qt, then a venv with the app.
# With --test it also installs what the test suite drives: Xvfb and trayer, gnome-keyring,
# Debian's chromium, ImageMagick, Caddy and nginx, and the npm clients (mcp-remote, the MCP Inspector).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

packages=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xinerama0 gnome-keyring libsecret-1-0 dbus-x11)
if [ "$want_test" = 1 ]; then
  packages+=(xvfb trayer x11-utils xdotool chromium libsecret-tools imagemagick)
  # the packaged app: gcc links the trimmed ICU data (packaging/icu_trim.py); desktop-file-validate
  packages+=(gcc binutils desktop-file-utils)
  # remote access: real reverse proxies in front of `serve --public-url` (tests/remote), openssl for nginx's cert
  packages+=(caddy nginx openssl libnss3-tools)  # certutil: chromium trusts Caddy's root (passkey tests)
fi
if ! python3 -m venv --help >/dev/null 2>&1; then packages+=(python3-venv); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test,bundle]'
  # A tiny plugin package whose entry points the tool tests must discover (tests/tools/).
  .venv/bin/python -m pip install -q ./tests/plugins/mcp-tray-sample-plugin
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: Node.js and npm are needed for the end-to-end tests (mcp-remote)" >&2
    exit 1
  fi
  npm ci --no-audit --no-fund --loglevel=error
else
  .venv/bin/python -m pip install -q -e .
fi
