#!/bin/sh
# One benchmark run: tapegrad and PyTorch side by side on the same data, the
# same thread count and the same machine, then a table of ratios.
#
#   bench/run.sh                      # build dir build-bench, 5 timed epochs
#   BUILD=build-perf EPOCHS=7 bench/run.sh
#   PARTS=cnn CNN_EPOCHS=3 bench/run.sh   # only the CNN of issue #12, 3 timed epochs each
#
# Needs python3-torch (Debian's, for /usr/bin/python3) and the Fashion-MNIST
# IDX files (DATA, default /usr/share/datasets/fashion-mnist).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-5}
THREADS=${THREADS:-$(nproc)}
BATCHES=${BATCHES:-"32 200 1000"}
PARTS=${PARTS:-"gemm tape mlp cnn"}
CNN_EPOCHS=${CNN_EPOCHS:-1}
PY=/usr/bin/python3
OUT=${OUT:-$BUILD/bench-results.jsonl}

[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" bench/tapegrad_bench >/dev/null
BIN=$BUILD/bench/tapegrad_bench

# The same thread count for every BLAS and for torch's own (OpenMP) kernels.
export OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" BENCH_THREADS="$THREADS"
# PyTorch as installed must not inherit a kernel override from the caller.
unset OPENBLAS_CORETYPE || true

: >"$OUT"
run() { echo "  $*" >&2; "$@" | tee -a "$OUT" >/dev/null; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
echo "{\"kind\": \"meta\", \"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\", \"threads\": $THREADS, \"epochs\": $EPOCHS, \"cnn_epochs\": $CNN_EPOCHS, \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"

has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
if has gemm; then run "$BIN" gemm 5; fi
if has tape; then
    run "$BIN" tape 3000 7
    run env BENCH_LABEL=torch "$PY" bench/torch_bench.py tape 3000 7
fi
has mlp || BATCHES=""
# Interleaved, so that a burst of load elsewhere hits every contender alike.
for b in $BATCHES; do
    run "$BIN" train "$DATA" "$b" "$EPOCHS"
    run env BENCH_LABEL=torch "$PY" bench/torch_bench.py train "$DATA" "$b" "$EPOCHS"
    # PyTorch at its best here: OpenBLAS's fast kernel, and OpenBLAS single-
    # threaded so that its threads do not fight PyTorch's own $THREADS intra-op
    # threads for the cores (measured: 2.4 s -> 1.0 s per batch-200 epoch).
    run env BENCH_LABEL=torch-best OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 \
        "$PY" bench/torch_bench.py train "$DATA" "$b" "$EPOCHS"
done
# The CNN of issue #12 at batch 64 (torch_bench.py cnn says what it is):
# tapegrad on $THREADS threads; PyTorch as installed (its own default thread
# count, none of this script's variables) and with torch.set_num_threads
# ($THREADS, all cores unless set), its OpenBLAS and OpenMP left to their
# defaults: real configurations only, no kernel override.
if has cnn; then
    run "$BIN" cnn "$DATA" 64 "$CNN_EPOCHS"
    run env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS -u BENCH_THREADS BENCH_LABEL=torch \
        "$PY" bench/torch_bench.py cnn "$DATA" 64 "$CNN_EPOCHS"
    run env -u OMP_NUM_THREADS -u OPENBLAS_NUM_THREADS BENCH_LABEL=torch-threads BENCH_THREADS="$THREADS" \
        "$PY" bench/torch_bench.py cnn "$DATA" 64 "$CNN_EPOCHS"
fi
"$PY" bench/report.py "$OUT"
