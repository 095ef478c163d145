#!/usr/bin/python3
"""The table of bench/run.sh: reads its JSON lines and prints the figures with
their ratios next to the targets of issues #5 (the MLP) and #12 (the CNN).
Each part only when the run measured it (run.sh's PARTS)."""
import json
import statistics
import sys


def load(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    return rows


def pick(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def one(rows, **kw):
    found = pick(rows, **kw)
    return found[0] if found else None


def verdict(ok):
    return "met" if ok else "NOT met"


def main(path):
    rows = load(path)
    meta = one(rows, kind="meta") or {}
    print(f"# tapegrad vs PyTorch, {meta.get('date', '?')}, {meta.get('cpu', '?')}, "
          f"{meta.get('threads', '?')} threads, median of {meta.get('epochs', '?')} epochs after a warm-up, "
          f"load average at start {meta.get('load', '?')}")

    shape_bound = gemm_part(rows)
    mlp_part(rows, shape_bound)
    tape_part(rows)
    mlp_memory_part(rows)
    cnn_part(rows, meta)


def gemm_part(rows):
    """sgemm rates and the lower bounds they give on the batch-200 MLP epoch; returns the
    per-shape bound (0 without GEMM figures)."""
    gemm = pick(rows, kind="gemm")
    if not gemm:
        return 0.0
    steps200 = -(-60000 // 200)
    print("\n## sgemm on this machine (tapegrad's BLAS, as tapegrad configures it)\n")
    blas = one(rows, kind="blas")
    if blas:
        print(f"BLAS kernel: {blas['kernel']}\n")
    print("| product | m x n x k | GFLOP/s, all threads | GFLOP/s, 1 thread | ms per epoch at batch 200, best rate |")
    print("|---|---|---:|---:|---:|")
    shape_bound = 0.0
    flop_epoch = 0.0
    square = None
    for g in gemm:
        flop = 2.0 * g["m"] * g["n"] * g["k"]
        # The bound takes the better of the two rates: the fastest OpenBLAS gets.
        rate = max(g["gflops"], g.get("gflops_1thread", 0.0))
        cells = f"| {g['what']} | {g['m']}x{g['n']}x{g['k']} | {g['gflops']:.1f} | {g.get('gflops_1thread', float('nan')):.1f} |"
        if g["what"].startswith("square"):
            square = rate
            print(cells + " |")
            continue
        t = steps200 * flop / (rate * 1e9)
        shape_bound += t
        flop_epoch += steps200 * flop
        print(cells + f" {t * 1e3:.1f} |")
    square_bound = flop_epoch / (square * 1e9) if square else float("nan")
    print(f"\nGEMM work of one batch-200 epoch: {flop_epoch / 1e9:.1f} GFLOP. Lower bounds: "
          f"{square_bound:.3f} s at the large-square rate, {shape_bound:.3f} s at the per-shape rates.")
    return shape_bound


def mlp_part(rows, shape_bound):
    if not pick(rows, kind="train"):
        return
    print("\n## One training epoch, 784-100-100-10 sigmoid, SGD momentum, float32, 60,000 Fashion-MNIST\n")
    print("| batch | tapegrad s | PyTorch s | PyTorch best s | tapegrad / PyTorch | tapegrad / PyTorch best "
          "(target <= 0.5) | tapegrad / GEMM bound (target <= 1.25) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b in sorted({r["batch"] for r in pick(rows, kind="train")}):
        tg, pt, best = (one(rows, kind="train", impl=i, batch=b) for i in ("tapegrad", "torch", "torch-best"))
        def s(r):
            return f"{r['median_s']:.3f}" if r else "-"
        def ratio(a, c):
            return a["median_s"] / c["median_s"] if a and c else float("nan")
        r_best = ratio(tg, best)
        target = r_best <= 0.5 if b in (32, 200) else None
        bound = ""
        if b == 200 and tg and shape_bound > 0:
            rb = tg["median_s"] / shape_bound
            bound = f"{rb:.2f} ({verdict(rb <= 1.25)})"
        best_cell = f"{r_best:.2f}" + (f" ({verdict(target)})" if target is not None else "")
        print(f"| {b} | {s(tg)} | {s(pt)} | {s(best)} | {ratio(tg, pt):.2f} | {best_cell} | {bound} |")



def tape_part(rows):
    if not pick(rows, kind="tape"):
        return
    print("\n## Tape cost per recorded op on tiny tensors (chain of mul/add/tanh, ns per op)\n")
    print("| tensor | tapegrad fwd | tapegrad bwd | PyTorch fwd | PyTorch bwd | PyTorch / tapegrad, fwd+bwd "
          "(target >= 20) |")
    print("|---|---:|---:|---:|---:|---:|")
    for side in (1, 16):
        tg, pt = one(rows, kind="tape", impl="tapegrad", side=side), one(rows, kind="tape", impl="torch", side=side)
        if not (tg and pt):
            continue
        r = (pt["fwd_ns_per_op"] + pt["bwd_ns_per_op"]) / (tg["fwd_ns_per_op"] + tg["bwd_ns_per_op"])
        print(f"| {side}x{side} | {tg['fwd_ns_per_op']:.0f} | {tg['bwd_ns_per_op']:.0f} | {pt['fwd_ns_per_op']:.0f} | "
              f"{pt['bwd_ns_per_op']:.0f} | {r:.1f} ({verdict(r >= 20)}) |")



def mlp_memory_part(rows):
    if not pick(rows, kind="train"):
        return
    print("\n## Peak resident memory of the training run (MB)\n")
    print("| batch | impl | peak RSS | float32 data set | peak - data set (target <= 64) | "
          "RSS growth, first to last epoch |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in pick(rows, kind="train"):
        over = r["peak_rss_mb"] - r["dataset_mb"]
        rss = r["rss_after_epoch_mb"]
        growth = rss[-1] - rss[1] if len(rss) > 1 else 0.0
        mark = f" ({verdict(over <= 64)})" if r["impl"] == "tapegrad" else ""
        print(f"| {r['batch']} | {r['impl']} | {r['peak_rss_mb']:.0f} | {r['dataset_mb']:.0f} | {over:.0f}{mark} | "
              f"{growth:+.1f} |")



def cnn_part(rows, meta):
    """The CNN of issue #12: tapegrad's epoch against the faster PyTorch configuration
    (target <= 1.0x, moonshot 0.7x) and peak memory below PyTorch's."""
    cnn = pick(rows, kind="cnn")
    if not cnn:
        return
    print(f"\n## One training epoch, the CNN of issue #12 (conv-pool-conv-pool-100-10, Adam, batch 64, "
          f"60,000 Fashion-MNIST), median of {meta.get('cnn_epochs', '?')} after a warm-up\n")
    tg = one(cnn, impl="tapegrad")
    torches = [r for r in cnn if r["impl"] != "tapegrad"]
    ref = min(torches, key=lambda r: r["median_s"]) if torches else None
    def cpu(r):
        return statistics.median(r["cpu_s"]) if r.get("cpu_s") else float("nan")

    print("| impl | threads | epoch s | CPU s | peak RSS MB | peak - data set MB | final loss | tapegrad / this, "
          "epoch | tapegrad / this, CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in ([tg] if tg else []) + torches:
        ratio = f"{tg['median_s'] / r['median_s']:.2f}" if tg and r is not tg else ""
        cpu_ratio = f"{cpu(tg) / cpu(r):.2f}" if tg and r is not tg else ""
        threads = r.get("threads") or meta.get("threads", "?")
        print(f"| {r['impl']} | {threads} | {r['median_s']:.2f} | {cpu(r):.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['peak_rss_mb'] - r['dataset_mb']:.0f} | {r['loss']:.3f} | {ratio} | {cpu_ratio} |")
    if not tg:
        print("\ntapegrad: no figures (its run failed).")
        return
    if tg.get("conv"):
        print(f"\ntapegrad's float convolutions: {tg['conv']}.")
    if ref:
        ratio = tg["median_s"] / ref["median_s"]
        low_mem = min(r["peak_rss_mb"] for r in torches)
        print(f"\nAgainst the faster PyTorch ({ref['impl']}): {ratio:.2f}x, target <= 1.0 {verdict(ratio <= 1.0)}, "
              f"moonshot <= 0.7 {verdict(ratio <= 0.7)}; peak memory {tg['peak_rss_mb']:.0f} MB against "
              f"PyTorch's lowest {low_mem:.0f} MB: {verdict(tg['peak_rss_mb'] < low_mem)}.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build-bench/bench-results.jsonl")
