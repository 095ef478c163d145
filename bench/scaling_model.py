#!/usr/bin/python3
"""Issue #14's scaling model: the speed-up of data-parallel training on N
processes (8, 64, 512) over networks of 10 and 100 Gbit/s, from the compute
time of one training step measured on one core and the gradient size.
Plain python3, no torch.

  scaling_model.py measure BUILD DATA > bench/scaling_inputs.json   time steps with tapegrad_bench (1 thread)
  scaling_model.py [INPUTS]            the tables (INPUTS default: bench/scaling_inputs.json)

The model, per step of a process with a per-process batch b:

  step(N, b) = t(b) + allreduce(N),
  allreduce(N) = 2 (N-1)/N * S / B + 2 (N-1) * a        (ring allreduce)

t(b): seconds of one training step at batch b on one core (forward,
backward, optimizer; measured); S: the gradient in bytes, 4 per float32
parameter; B: the network's bandwidth in bytes/s; a: the latency of one
message (5 us: a tuned MPI over Ethernet or RoCE; 50 us: TCP through the
kernel). Every process is taken to run on its own core at the measured
speed, and the N processes to form one flat ring over the network.

  strong scaling (global batch G fixed): speed-up = t(G) / step(N, ceil(G/N));
  weak scaling (per-process batch b fixed): speed-up = N t(b) / step(N, b),
                                            in samples per second.

Each speed-up cell reads "no overlap / overlapped".
"With overlap" starts the allreduce while backward runs (issue #14's
buckets) and hides it behind backward, taken as 2/3 of the step (backward
costs about twice forward): step = t + max(0, allreduce - 2/3 t).
"""
import json
import math
import os
import subprocess
import sys
import time

NETWORKS = [("10 Gbit/s", 10e9 / 8), ("100 Gbit/s", 100e9 / 8)]
LATENCIES = [5e-6, 50e-6]
PROCESSES = [8, 64, 512]
BACKWARD_SHARE = 2 / 3
PER_MACHINE = 8  # processes per machine in the hierarchical variant

# Scenarios per model: (what, "strong" with the global batch, or "weak" with the per-process batch).
SCENARIOS = {
    "mlp": [("strong", 200), ("strong", 8192), ("weak", 32), ("weak", 200)],
    "cnn": [("strong", 64), ("strong", 2048), ("weak", 64), ("weak", 256)],
}
MODEL_NAMES = {"mlp": "MLP 784-100-100-10 (SGD)", "cnn": "CNN of issue #12 (Adam)"}


def batches_needed(model):
    """Every per-process batch the scenarios use, for N = 1 and PROCESSES."""
    out = set()
    for kind, size in SCENARIOS[model]:
        if kind == "weak":
            out.add(size)
        else:
            out.update(math.ceil(size / n) for n in [1] + PROCESSES if n <= size)
    return sorted(out)


def measure(build, data):
    """Times tapegrad_bench steps at every batch the scenarios need, on one
    thread; one JSON object with the figures, the date and the machine."""
    binary = os.path.join(build, "bench", "tapegrad_bench")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env.pop("OMP_WAIT_POLICY", None)  # oneDNN on one thread too
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    inputs = {"date": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
              "load_start": load, "threads": 1, "models": {}}
    for model in SCENARIOS:
        steps = {}
        for b in batches_needed(model):
            # About a second of steps at the smallest batches, at least 10.
            per_sample = 2e-5 if model == "mlp" else 3e-4
            count = max(10, min(2000, int(1.0 / (per_sample * b + 3e-5))))
            out = subprocess.run([binary, "steps", model, data, str(b), str(count)], env=dict(env, WARMUP="3"),
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            steps[str(b)] = {"cpu_s": r["cpu_s_per_step"], "wall_s": r["wall_s_per_step"], "steps": r["steps"]}
            inputs["models"].setdefault(model, {})["parameters"] = r["parameters"]
            print(f"  {model} batch {b}: {r['cpu_s_per_step'] * 1e3:.3f} ms CPU, {r['wall_s_per_step'] * 1e3:.3f} "
                  f"ms wall per step", file=sys.stderr)
        inputs["models"][model]["step_s"] = steps
    with open("/proc/loadavg") as f:
        inputs["load_end"] = " ".join(f.read().split()[:3])
    return inputs


def allreduce(n, grad_bytes, bandwidth, latency, algorithm="ring"):
    """Seconds to allreduce the gradient across n processes.
    ring: reduce-scatter then allgather, 2 (N-1) messages of S/N each;
    halving-doubling (Rabenseifner's, what MPI libraries pick for large
    messages): the same bytes in 2 log2 N messages;
    hierarchical: 8 processes per machine reduce through shared memory (taken
    as free), one ring over the N/8 machines."""
    if n == 1:
        return 0.0
    if algorithm == "hierarchical":
        return allreduce(max(1, n // PER_MACHINE), grad_bytes, bandwidth, latency)
    messages = 2 * math.log2(n) if algorithm == "halving-doubling" else 2 * (n - 1)
    return 2 * (n - 1) / n * grad_bytes / bandwidth + messages * latency


def step_time(t, comm, overlap):
    return t + (max(0.0, comm - BACKWARD_SHARE * t) if overlap else comm)


def speedup(step_s, grad_bytes, kind, size, n, bandwidth, latency, overlap=False, algorithm="ring"):
    """The speed-up over one process, or None where N exceeds the global batch."""
    comm = allreduce(n, grad_bytes, bandwidth, latency, algorithm)
    if kind == "strong":
        if n > size:
            return None
        return step_s[size] / step_time(step_s[math.ceil(size / n)], comm, overlap)
    return n * step_s[size] / step_time(step_s[size], comm, overlap)


def network_heads():
    return [f"{name}, {lat * 1e6:.0f} us" for name, _ in NETWORKS for lat in LATENCIES]


def networks():
    return [(bw, lat) for _, bw in NETWORKS for lat in LATENCIES]


def tables(inputs):
    print(f"Inputs: {inputs['cpu']}, {inputs['threads']} thread per process, measured {inputs['date']} "
          f"(load average {inputs['load_start']} -> {inputs['load_end']}); CPU seconds per step.\n")
    for model, m in inputs["models"].items():
        step_s = {int(b): v["cpu_s"] for b, v in m["step_s"].items()}
        grad = 4 * m["parameters"]
        print(f"### {MODEL_NAMES[model]}: {m['parameters']:,} parameters, gradient {grad / 1e3:.0f} kB\n")
        print("Compute per step, one core: " +
              ", ".join(f"batch {b} {t * 1e3:.3g} ms" for b, t in sorted(step_s.items())) + ".\n")
        print("Ring allreduce, ms: " + "; ".join(
            f"N = {n}: " + ", ".join(f"{allreduce(n, grad, bw, lat) * 1e3:.2f}" for bw, lat in networks())
            for n in PROCESSES) + f" ({', '.join(network_heads())}).\n")
        print("| scaling | N | " + " | ".join(network_heads()) + " |")
        print("|---|---:|" + "---:|" * len(networks()))
        for kind, size in SCENARIOS[model]:
            what = f"strong, global batch {size}" if kind == "strong" else f"weak, {size} per process"
            for n in PROCESSES:
                cells = []
                for bw, lat in networks():
                    s = speedup(step_s, grad, kind, size, n, bw, lat)
                    o = speedup(step_s, grad, kind, size, n, bw, lat, overlap=True)
                    cells.append("n/a (N > batch)" if s is None else f"{s:.1f} / {o:.1f}")
                print(f"| {what} | {n} | " + " | ".join(cells) + " |")
        print()
        print(best_n_line(step_s, grad))
        print()
        variants(model, step_s, grad)


def variants(model, step_s, grad):
    """What would change the picture, at N = 512 on 10 Gbit/s with 50 us, weak
    scaling at the model's first weak batch: each remedy alone, then all."""
    kind, b = next(sc for sc in SCENARIOS[model] if sc[0] == "weak")
    bw, lat, n = NETWORKS[0][1], LATENCIES[-1], PROCESSES[-1]
    larger = 4 * b if 4 * b in step_s else max(step_s)
    rows = [
        ("ring allreduce, as above", speedup(step_s, grad, kind, b, n, bw, lat)),
        ("allreduce overlapped with backward", speedup(step_s, grad, kind, b, n, bw, lat, overlap=True)),
        ("gradients sent as 16-bit floats (half the bytes)", speedup(step_s, grad / 2, kind, b, n, bw, lat)),
        ("halving-doubling allreduce (2 log2 N latencies)",
         speedup(step_s, grad, kind, b, n, bw, lat, algorithm="halving-doubling")),
        (f"hierarchical: {PER_MACHINE} processes per machine, a ring over the machines",
         speedup(step_s, grad, kind, b, n, bw, lat, algorithm="hierarchical")),
        (f"per-process batch {larger} instead of {b}", speedup(step_s, grad, kind, larger, n, bw, lat)),
        ("halving-doubling + overlap + 16-bit gradients",
         speedup(step_s, grad / 2, kind, b, n, bw, lat, overlap=True, algorithm="halving-doubling")),
    ]
    print(f"What would change it, weak scaling at {b} per process, N = {n}, {NETWORKS[0][0]}, "
          f"{lat * 1e6:.0f} us (speed-up; {n} is linear):\n")
    print("| variant | speed-up |")
    print("|---|---:|")
    for what, s in rows:
        print(f"| {what} | {s:.1f} |")
    print()


def best_n_line(step_s, grad):
    """Where adding processes stops paying: for weak scaling at each measured
    batch, the N (a power of two) past which efficiency falls below 50%."""
    parts = []
    for b in sorted(step_s):
        for name, bw in NETWORKS:
            for lat in LATENCIES:
                n = 1
                while n < 1 << 20 and speedup(step_s, grad, "weak", b, 2 * n, bw, lat) / (2 * n) >= 0.5:
                    n *= 2
                parts.append((b, name, lat, n))
    rows = {}
    for b, name, lat, n in parts:
        rows.setdefault(b, []).append(f"{n}")
    heads = ", ".join(network_heads())
    return ("Weak scaling, the largest N (power of two) still at >= 50% efficiency without overlap (" + heads + "): " +
            "; ".join(f"batch {b}: {', '.join(v)}" for b, v in rows.items()) + ".")


def main(args):
    if len(args) == 3 and args[0] == "measure":
        print(json.dumps(measure(args[1], args[2]), indent=1))
        return 0
    if len(args) > 1:
        raise SystemExit(__doc__)
    path = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "scaling_inputs.json")
    with open(path) as f:
        tables(json.load(f))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
