#!/bin/sh
# Issue #14 on one machine: the mnist example's training epoch as 2 MPI
# processes of 1 thread each against 1 process of 2 threads (and 1 process
# of 1 thread, the unit of both; and 1 process of 2 shards where the example
# has --shards), for the MLP and the CNN, interleaved.
#
#   bench/mpi_scaling.sh                         # build dir build-bench, both models
#   MODELS=mlp ROUNDS=5 bench/mpi_scaling.sh
#
# Each run trains EPOCHS epochs (the first is dropped as warm-up) and the
# epoch time is the training pass alone, from the metrics CSV rank 0 writes.
# Needs a build with MPI (meson option mpi; Open MPI's mpirun) and the
# Fashion-MNIST IDX files (DATA). Results: $BUILD/mpi-scaling.jsonl.
# shellcheck disable=SC2086 # $MPIRUN: a command, split into words on purpose
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
MODELS=${MODELS:-"mlp cnn"}
EPOCHS=${EPOCHS:-3}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-$BUILD/mpi-scaling.jsonl}
BIN=$BUILD/examples/mnist/mnist

[ -d "$BUILD" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" examples/mnist/mnist >/dev/null
if ! ldd "$BIN" | grep -q libmpi; then
    echo "mpi_scaling.sh: $BIN is built without MPI (meson option mpi, libopenmpi-dev): nothing to compare" >&2
    exit 1
fi
MPIRUN="mpirun --bind-to none"  # let the OS place the processes, as it does the single process's threads
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
# The example's shards (issue #13) default to one per BLAS thread: 1x1, 1x2
# and 2x1 ask for none, so that 1x2 measures OpenBLAS's own threads.
ONE_SHARD=""
if "$BIN" --help | grep -q -e --shards; then ONE_SHARD="--shards 1"; fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# One training run; its per-epoch seconds (metrics CSV) become a JSON line.
# oneDNN (the CNN's convolutions) runs on blas_threads() threads only with
# OMP_WAIT_POLICY set (docs/performance.md): set for the 2-thread process.
measure() {
    model=$1 config=$2
    shift 2
    echo "  $model $config" >&2
    rm -f "$TMP/metrics.csv"
    if ! "$@" --model "$model" --data "$DATA" --epochs "$EPOCHS" --early-stop 0 \
        --metrics "$TMP/metrics.csv" >"$TMP/log" 2>&1; then
        tail -3 "$TMP/log" >&2
        echo "{\"kind\": \"mpi_scaling\", \"model\": \"$model\", \"config\": \"$config\", \"failed\": true}" >>"$OUT"
        return 0
    fi
    /usr/bin/python3 - "$model" "$config" "$TMP/metrics.csv" "$TMP/log" >>"$OUT" <<'EOF'
import csv, json, re, statistics, sys
model, config, metrics, log = sys.argv[1:]
seconds = [float(row["seconds"]) for row in csv.DictReader(open(metrics))]
timed = seconds[1:] or seconds  # the first epoch warms up
accuracy = re.findall(r"test accuracy: ([0-9.]+)", open(log).read())
print(json.dumps({"kind": "mpi_scaling", "model": model, "config": config, "epoch_s": seconds,
                  "median_s": statistics.median(timed), "test_accuracy": float(accuracy[-1]) if accuracy else None}))
EOF
}

: >"$OUT"
echo "{\"kind\": \"meta\", \"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\", \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"cores\": $(nproc), \"epochs\": $EPOCHS, \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for m in $MODELS; do
        measure "$m" 1x1 env OPENBLAS_NUM_THREADS=1 "$BIN" $ONE_SHARD
        measure "$m" 1x2 env OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE "$BIN" $ONE_SHARD
        # Issue #13's per-core shards, where the example offers them: one
        # process, each batch split across 2 threads of single-threaded products.
        if [ -n "$ONE_SHARD" ]; then
            measure "$m" "1x2 shards" env OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE "$BIN" --shards 2
        fi
        measure "$m" 2x1 $MPIRUN -np 2 -x OPENBLAS_NUM_THREADS=1 "$BIN" $ONE_SHARD
        # Open MPI's waiting processes spin unless it sees more processes
        # than cores; on a machine busy with other work, yielding may pay.
        measure "$m" "2x1 yield" $MPIRUN --mca mpi_yield_when_idle 1 -np 2 -x OPENBLAS_NUM_THREADS=1 "$BIN" \
            $ONE_SHARD
    done
    round=$((round + 1))
done
echo "{\"kind\": \"end\", \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"

/usr/bin/python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
meta = rows[0]
end = rows[-1]
print(f"# {meta['date']}, {meta['cpu']}, {meta['cores']} cores, {meta['epochs']} epochs a run (first dropped), "
      f"load average {meta['load']} -> {end['load']}\n")
print("| model | processes x threads | epoch s, median over rounds | all rounds | speed-up over 1x1 | test accuracy |")
print("|---|---|---:|---|---:|---:|")
for model in dict.fromkeys(r["model"] for r in rows if r["kind"] == "mpi_scaling"):
    runs = {}
    for r in rows:
        if r["kind"] == "mpi_scaling" and r["model"] == model:
            runs.setdefault(r["config"], []).append(r)
    def med(config):
        ok = [r["median_s"] for r in runs.get(config, []) if not r.get("failed")]
        return statistics.median(ok) if ok else None
    for config, rs in runs.items():
        m, base = med(config), med("1x1")
        failed = sum(1 for r in rs if r.get("failed"))
        all_s = ", ".join(f"{r['median_s']:.2f}" if not r.get("failed") else "failed" for r in rs)
        acc = [r["test_accuracy"] for r in rs if r.get("test_accuracy") is not None]
        print(f"| {model} | {config} | {m:.2f} | {all_s} | {base / m:.2f} | {acc[-1]:.4f} |" if m else
              f"| {model} | {config} | failed ({failed}) | {all_s} | | |")
EOF
