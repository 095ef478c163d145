#!/usr/bin/env bash
# From a fresh Debian 12 machine to a trained model: installs the Debian
# packages tapegrad needs, builds it in build/, and runs the main example.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=$(xargs -a scripts/debian-packages.txt dpkg-query -W -f='${Status} ${Package}\n' 2>/dev/null \
  | awk '$3 != "installed" {print $4}' || true)
if [ -n "$missing" ] || ! dpkg-query -W $(cat scripts/debian-packages.txt) >/dev/null 2>&1; then
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive xargs -a scripts/debian-packages.txt apt-get install -y -q --no-install-recommends
fi

[ -d build ] || meson setup build
ninja -C build

build/examples/logistic_regression
