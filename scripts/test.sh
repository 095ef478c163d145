#!/usr/bin/env bash
# Builds tapegrad (release, in build/) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build
meson test -C build --print-errorlogs "$@"
