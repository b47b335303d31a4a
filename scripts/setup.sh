#!/usr/bin/env bash
# Set up what MCP Tray needs on Debian/Ubuntu: system libraries for Qt, then a venv with the app.
#   scripts/setup.sh         the app's own environment, .venv (what scripts/run.sh starts)
#   scripts/setup.sh --test  the tests' environment, .venv-test: the app with its test and bundle
#                            extras and the test plugin package, plus Xvfb and trayer, gnome-keyring,
#                            Debian's chromium, ImageMagick, Caddy and nginx, and the npm clients
#                            (mcp-remote, the MCP Inspector). The test plugins never reach .venv, so the app a user
#                            starts shows only its own tools.
# Each step prints one line. pip runs only when the environment is new or pyproject.toml changed
# since it last ran (a stamp file in the venv holds a hash of what was installed).
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1
venv=.venv
[ "$want_test" = 1 ] && venv=.venv-test

say() { echo "setup: $*" >&2; }
began=$(date +%s)

packages=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
          libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xinerama0 gnome-keyring libsecret-1-0 dbus-x11)
if [ "$want_test" = 1 ]; then
  packages+=(xvfb trayer x11-utils xdotool chromium libsecret-tools imagemagick)
  # the packaged app: gcc links the trimmed ICU data (packaging/icu_trim.py); desktop-file-validate
  packages+=(gcc binutils desktop-file-utils)
  # remote access: real reverse proxies in front of `serve --public-url` (tests/remote), openssl for nginx's cert
  packages+=(caddy nginx openssl libnss3-tools)  # certutil: chromium trusts Caddy's root (passkey tests)
  packages+=(postgresql)  # the store suites also run on a throwaway PostgreSQL cluster (tests/support/postgres.py)
fi
if ! python3 -m venv --help >/dev/null 2>&1; then packages+=(python3-venv); fi

# One dpkg-query for all of them (one each took a noticeable part of a second start).
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null | grep " install ok installed" |
            cut -d' ' -f1 || true)
missing=()
for p in "${packages[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "system libraries: ok"
fi

# What the environment was installed from; when it matches the stamp there is nothing to do.
inputs=(pyproject.toml)
[ "$want_test" = 1 ] && inputs+=(tests/plugins/mcp-tray-sample-plugin/pyproject.toml)
wanted=$( (python3 --version; cat "${inputs[@]}") | python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
stamp="$venv/.mcp-tray-installed"

if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$wanted" ]; then
  say "$venv: up to date"
else
  rm -f "$stamp"
  log="$venv/pip.log"
  say "$venv: installing MCP Tray and its dependencies (the first time takes a minute or two; log: $log) ..."
  pip_install() {
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check "$@" >>"$log" 2>&1; then
      tail -n 40 "$log" >&2
      say "pip failed (the whole log is in $log)"
      exit 1
    fi
  }
  : >"$log"
  pip_install --upgrade pip
  if [ "$want_test" = 1 ]; then
    pip_install -e '.[desktop,test,bundle]'
    # A tiny plugin package whose entry points the tool tests must discover (tests/tools/).
    pip_install ./tests/plugins/mcp-tray-sample-plugin
  else
    pip_install -e '.[desktop]'
  fi
  echo "$wanted" >"$stamp"
  say "$venv: installed"
fi
# pip compiles what it installs, but an editable install leaves the app's own modules as source: compile
# them (files left unchanged since the last run are skipped), so no start compiles app/ first.
"$venv/bin/python" -m compileall -q app >/dev/null

if [ "$want_test" = 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "Node.js and npm are needed for the end-to-end tests (mcp-remote)"
    exit 1
  fi
  # npm writes node_modules/.package-lock.json; when it matches package-lock.json, npm ci would only redo it.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
     [ -d node_modules/mcp-remote ]; then
    say "npm clients: up to date"
  else
    say "npm clients: installing (mcp-remote, the MCP Inspector) ..."
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
say "ready in $(( $(date +%s) - began )) s"
