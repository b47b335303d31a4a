#!/usr/bin/env bash
# Install the built bundle for the current user (no root): the app folder, a `mcp-tray` command,
# the menu entry and the icons, following the XDG base-directory and icon-theme specs.
#   packaging/linux/install.sh [BUNDLE_DIR]     (default: dist/mcp-tray)
#   packaging/linux/install.sh --uninstall
# PREFIX (default ~/.local) and XDG_DATA_HOME (default $PREFIX/share) choose where.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="${PREFIX:-$HOME/.local}"
data="${XDG_DATA_HOME:-$prefix/share}"
app_dir="$prefix/lib/mcp-tray"
bin="$prefix/bin/mcp-tray"
desktop="$data/applications/mcp-tray.desktop"
sizes=(16 24 32 48 64 128 256 512)

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$app_dir" "$bin" "$desktop"
  for size in "${sizes[@]}"; do rm -f "$data/icons/hicolor/${size}x${size}/apps/mcp-tray.png"; done
  rm -f "$data/icons/hicolor/scalable/apps/mcp-tray.svg"
  echo "mcp-tray: uninstalled from $prefix"
  exit 0
fi

bundle="${1:-$root/dist/mcp-tray}"
if [ ! -x "$bundle/mcp-tray" ]; then
  echo "install: no bundle at $bundle (build it with: make bundle)" >&2
  exit 1
fi
rm -rf "$app_dir.new"
mkdir -p "$(dirname "$app_dir")" "$(dirname "$bin")" "$(dirname "$desktop")"
cp -a "$bundle" "$app_dir.new"
rm -rf "$app_dir"
mv "$app_dir.new" "$app_dir"
ln -sfn "$app_dir/mcp-tray" "$bin"
for size in "${sizes[@]}"; do
  install -D -m 644 "$root/packaging/icons/mcp-tray-$size.png" "$data/icons/hicolor/${size}x${size}/apps/mcp-tray.png"
done
install -D -m 644 "$root/resources/icons/mcp-tray.svg" "$data/icons/hicolor/scalable/apps/mcp-tray.svg"
# The menu entry runs the installed executable by its full path: ~/.local/bin is not always on PATH.
sed "s|^Exec=mcp-tray$|Exec=$app_dir/mcp-tray|" "$here/mcp-tray.desktop" > "$desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "mcp-tray: installed to $app_dir; menu entry $desktop; command $bin"
