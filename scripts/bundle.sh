#!/usr/bin/env bash
# Build the one-folder, windowed bundle dist/mcp-tray/ from packaging/mcp-tray.spec and print its size.
# Uses .venv (set up by scripts/setup.sh); PYTHON=/path/to/python uses another interpreter instead,
# one that has the app's dependencies and PyInstaller.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  [ -x .venv/bin/python ] || scripts/setup.sh
  PYTHON=.venv/bin/python
  "$PYTHON" -c 'import PyInstaller' 2>/dev/null || "$PYTHON" -m pip install -q -e '.[desktop,bundle]'
fi
if [ "$(uname -s)" = Linux ] && ! command -v gcc >/dev/null 2>&1; then
  # packaging/icu_trim.py links the trimmed ICU data library with gcc.
  echo "bundle: gcc is needed on Linux (sudo apt-get install gcc)" >&2
  exit 1
fi
start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/mcp-tray.spec
end=$(date +%s)
if [ -d dist/mcp-tray ]; then
  bytes=$(du -sb dist/mcp-tray | cut -f1)
  echo "bundle: dist/mcp-tray built in $((end - start)) s, $bytes bytes ($(awk "BEGIN {printf \"%.1f\", $bytes / 1048576}") MiB)"
fi
