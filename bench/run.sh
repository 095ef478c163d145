#!/bin/sh
# One benchmark run: tapegrad and PyTorch side by side on the same data, the
# same thread count and the same machine, then a table of ratios.
#
#   bench/run.sh                      # build dir build-bench, 5 timed epochs
#   BUILD=build-perf EPOCHS=7 bench/run.sh
#   PARTS=cnn CNN_EPOCHS=3 bench/run.sh   # only the CNN of issue #12, 3 timed epochs each
#   PARTS=tape bench/run.sh               # parts: gemm tape mlp cnn chargpt
#
# PyTorch runs in each of its real configurations on this machine (README.md
# says which) and its best is the fastest of them. A configuration that dies
# is recorded as failed and the run goes on.
#
# Needs python3-torch and python3-threadpoolctl (Debian's, for
# /usr/bin/python3) and the Fashion-MNIST IDX files (DATA, default
# /usr/share/datasets/fashion-mnist); part chargpt needs Debian's word list
# (WORDS, default /usr/share/dict/american-english, package wamerican).
#
# For testing the bench itself only: BENCH_FAKE_CPU_FLAGS and
# BENCH_FAKE_CPU_VENDOR (see machine.py) and BENCH_FAKE_OPENBLAS_KERNEL (what
# PyTorch's OpenBLAS is taken to have picked) change which kernel is forced.
# shellcheck disable=SC2086 # $TAPEGRAD, $AS_INSTALLED: env commands, split into words on purpose
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
EPOCHS=${EPOCHS:-5}
THREADS=${THREADS:-$(nproc)}
BATCHES=${BATCHES:-"32 200 1000"}
PARTS=${PARTS:-"gemm tape mlp cnn chargpt"}
CNN_EPOCHS=${CNN_EPOCHS:-1}
WORDS=${WORDS:-/usr/share/dict/american-english}
CHARGPT_BATCHES=${CHARGPT_BATCHES:-"1 32"}
CHARGPT_STEPS=${CHARGPT_STEPS:-200}
# tapegrad's ways to use the cores in a training step (tapegrad_bench.cpp):
# blas (OpenBLAS's threads), shards (every batch split across the cores),
# default (TrainerOptions' defaults: split by the work, min_shard_work).
TAPEGRAD_CONFIGS=${TAPEGRAD_CONFIGS:-"blas shards default"}
PY=${PY:-/usr/bin/python3}
OUT=${OUT:-$BUILD/bench-results.jsonl}
export THREADS EPOCHS CNN_EPOCHS CHARGPT_STEPS
BENCH_DATE=$(date -u +%Y-%m-%dT%H:%MZ)
export BENCH_DATE

[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" bench/tapegrad_bench >/dev/null
BIN=$BUILD/bench/tapegrad_bench
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Variables that configure PyTorch, OpenBLAS or OpenMP: every PyTorch
# configuration starts without them (as installed) and sets only its own.
AS_INSTALLED="env -u OPENBLAS_NUM_THREADS -u GOTO_NUM_THREADS -u OMP_NUM_THREADS -u MKL_NUM_THREADS -u OPENBLAS_L2_SIZE \
-u OPENBLAS_CORETYPE -u OMP_WAIT_POLICY -u BENCH_THREADS -u BENCH_LABEL"

# tapegrad: $THREADS threads for its BLAS (and oneDNN, as blas.hpp says), and
# the kernel tapegrad itself chooses (autograd/backend/blas.cpp).
TAPEGRAD="env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS BENCH_THREADS=$THREADS"

# run LABEL PART BATCH COMMAND...: its JSON lines go to $OUT. If it exits
# non-zero or dies (a forced kernel the CPU cannot run: "Illegal
# instruction"), a "failed" line says so and the run goes on; returns 1 then.
run() {
    label=$1 part=$2 batch=$3
    shift 3
    echo "  $label $part $batch" >&2
    if "$@" >"$TMP/out" 2>"$TMP/err"; then
        cat "$TMP/out" >>"$OUT"
        cat "$TMP/err" >&2
        return 0
    else
        code=$?
        cat "$TMP/out" >>"$OUT"
        cat "$TMP/err" >&2
        "$PY" bench/machine.py failed "$label" "$part" "$batch" "$code" "$TMP/err" | tee -a "$OUT" >&2
        return 1
    fi
}

: >"$OUT"
"$PY" bench/machine.py info >>"$OUT"
run tapegrad machine - $TAPEGRAD "$BIN" machine || true

# PyTorch's configurations, each an environment on top of AS_INSTALLED:
#   torch          as installed: PyTorch's and OpenBLAS's own thread defaults;
#   torch-threads  intra-op threads = $THREADS, OpenBLAS on one thread, so that
#                  OpenBLAS's threads do not fight PyTorch's for the cores;
#   torch-KERNEL, torch-threads-KERNEL  the same with OpenBLAS's kernel forced,
#                  only where OpenBLAS picked a fallback kernel that lacks the
#                  CPU's AVX2 (machine.py force-kernel), e.g. SkylakeX for a
#                  new AVX-512 CPU it does not know: never an unsupported one.
config_env() {
    case $1 in
        torch) echo "" ;;
        torch-threads) echo "OPENBLAS_NUM_THREADS=1 BENCH_THREADS=$THREADS" ;;
        torch-threads-*) echo "OPENBLAS_CORETYPE=${1#torch-threads-} OPENBLAS_NUM_THREADS=1 BENCH_THREADS=$THREADS" ;;
        torch-*) echo "OPENBLAS_CORETYPE=${1#torch-}" ;;
    esac
}
run_torch() {  # run_torch LABEL PART BATCH ARGS...: torch_bench.py in configuration LABEL
    label=$1 part=$2 batch=$3
    shift 3
    # shellcheck disable=SC2046 # config_env's assignments are words without spaces
    run "$label" "$part" "$batch" $AS_INSTALLED BENCH_LABEL="$label" $(config_env "$label") \
        "$PY" bench/torch_bench.py "$@"
}

# Probe each configuration once (one sgemm, then its threads and OpenBLAS's
# kernel); one that fails is left out of every part.
CONFIGS=""
probe() { if run_torch "$1" probe - probe; then CONFIGS="$CONFIGS $1"; fi; }
probe torch
PICKED=${BENCH_FAKE_OPENBLAS_KERNEL:-$("$PY" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(next((r.get("openblas_kernel") or "" for r in rows if r.get("kind") == "torch_config"), ""))' "$OUT")}
KERNEL=$("$PY" bench/machine.py force-kernel "$PICKED")
probe torch-threads
if [ -n "$KERNEL" ]; then
    echo "  PyTorch's OpenBLAS picked $PICKED, a fallback without this CPU's best; also trying $KERNEL" >&2
    probe "torch-$KERNEL"
    probe "torch-threads-$KERNEL"
fi
"$PY" bench/machine.py meta "$OUT" >"$TMP/meta" && cat "$TMP/meta" >>"$OUT"

has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
if has gemm; then run tapegrad gemm - $TAPEGRAD "$BIN" gemm 5 || true; fi
if has tape; then
    run tapegrad tape - $TAPEGRAD "$BIN" tape 3000 7 || true
    for c in $CONFIGS; do run_torch "$c" tape - tape 3000 7 || true; done
    # micrograd's tiny graph, 100,000 times (PyTorch: about 10 s a configuration)
    run tapegrad tiny - $TAPEGRAD "$BIN" tiny 100000 || true
    for c in $CONFIGS; do run_torch "$c" tiny - tiny 100000 || true; done
fi
has mlp || BATCHES=""
# Interleaved, so that a burst of load elsewhere hits every contender alike.
for b in $BATCHES; do
    for t in $TAPEGRAD_CONFIGS; do
        run "tapegrad ($t)" train "$b" $TAPEGRAD "$BIN" train "$DATA" "$b" "$EPOCHS" "$t" || true
    done
    # PyTorch's users feed batches both ways: each batch gathered in the loop
    # (a DataLoader) or the shuffled epoch gathered at once; its best is the
    # faster of the two.
    for c in $CONFIGS; do
        for g in batch epoch; do run_torch "$c" train "$b" train "$DATA" "$b" "$EPOCHS" "$g" || true; done
    done
done
# The CNN of issue #12 at batch 64 (torch_bench.py cnn says what it is).
if has cnn; then
    for t in $TAPEGRAD_CONFIGS; do
        run "tapegrad ($t)" cnn 64 $TAPEGRAD "$BIN" cnn "$DATA" 64 "$CNN_EPOCHS" "$t" || true
    done
    for c in $CONFIGS; do run_torch "$c" cnn 64 cnn "$DATA" 64 "$CNN_EPOCHS" || true; done
fi
# Issue #20's character-level GPT (examples/chargpt): one training step at
# each batch size, the best of CHARGPT_STEPS after a warm-up, in both
# (tapegrad_bench.cpp and torch_bench.py chargpt).
if has chargpt; then
    for b in $CHARGPT_BATCHES; do
        run tapegrad chargpt "$b" $TAPEGRAD "$BIN" chargpt "$WORDS" "$b" "$CHARGPT_STEPS" || true
        for c in $CONFIGS; do run_torch "$c" chargpt "$b" chargpt "$WORDS" "$b" "$CHARGPT_STEPS" || true; done
    done
fi
echo "{\"kind\": \"end\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"
"$PY" bench/report.py "$OUT"
