#!/usr/bin/env bash
# Builds the fuzz targets (clang, in build-fuzz/), generates the seed corpus
# and runs every target for SECONDS each (default 60). Exits non-zero on the
# first crash, leak, sanitizer report, uncaught non-tapegrad exception,
# timeout, or allocation above the limits; the input that did it is saved in
# build-fuzz/crashes/. Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_idx fuzz_idx_gzip fuzz_npz fuzz_npy fuzz_checkpoint)
build=build-fuzz
bin=$build/tests/fuzz

# The project itself, configured with clang for the fuzz targets only (no
# tests, examples or benchmarks; neither oneDNN nor MPI, whose code the
# sanitizers cannot see), as CI's fuzz step did before: see meson.build there.
# A build-fuzz/ from before (a project of its own in tests/fuzz) is set up
# again; what fuzzing found, in corpus/, stays.
if [ -f "$build/meson-info/intro-projectinfo.json" ] &&
   grep -q '"descriptive_name": "tapegrad-fuzz"' "$build/meson-info/intro-projectinfo.json"; then
    find "$build" -mindepth 1 -maxdepth 1 ! -name corpus -exec rm -rf {} +
fi
[ -f "$build/build.ninja" ] || CXX=clang++ meson setup "$build" -Dfuzz=true \
    -Dtests=disabled -Dexamples=disabled -Dbench=disabled -Donednn=disabled -Dmpi=disabled \
    -Dnative=false -Dbuildtype=debugoptimized -Db_ndebug=false
# Only the targets asked for (and the seed writer), never the library itself.
ninja -C "$build" "${targets[@]/#/tests/fuzz/}" tests/fuzz/make_seeds

# Seeds are regenerated every run from the library's writers (never committed).
rm -rf "$build/seeds"
"$bin/make_seeds" "$build/seeds"
# numpy's own writer too, when it is there: deflated members (savez_compressed)
# reach libzip's inflate path, which our stored archives never do.
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    /usr/bin/python3 - "$build/seeds/fuzz_npz" <<'PY'
import sys, numpy as np
out = sys.argv[1]
w = np.arange(12, dtype=np.float32).reshape(3, 4)
np.savez_compressed(out + "/numpy-compressed.npz", **{"0.weight": w, "0.bias": np.zeros(3, np.float32)})
np.savez(out + "/numpy-stored.npz", **{"0.weight": w.astype(np.float64)})
PY
fi

mkdir -p "$build/crashes" "$build/logs"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for target in "${targets[@]}"; do
    # corpus/ keeps what fuzzing discovers between local runs; seeds/ is read only.
    mkdir -p "$build/corpus/$target"
    echo "== $target: ${seconds}s"
    # The seeds are under 2 KB, so 16 KB inputs leave room to grow while a
    # deflate bomb (at most ~1032x) stays near 16 MB; any single allocation
    # above 64 MB, or 1 GB resident, is reported as a finding: a header
    # claiming a huge size must be refused, not believed.
    status=0
    "$bin/$target" "$build/corpus/$target" "$build/seeds/$target" \
        -max_total_time="$seconds" -max_len=16384 -timeout=10 \
        -rss_limit_mb=1024 -malloc_limit_mb=64 \
        -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 \
        >"$build/logs/$target.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$build/logs/$target.log" >&2
        echo "== $target FAILED (exit $status): the input is in $build/crashes/, the log in $build/logs/" >&2
        exit 1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added)|^#[0-9]+ *DONE' \
        "$build/logs/$target.log" || true
done
echo "== fuzzing: no findings"
