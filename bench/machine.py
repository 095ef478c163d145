#!/usr/bin/python3
"""The machine a bench run measures on, and which OpenBLAS kernel, if any,
PyTorch may be given through OPENBLAS_CORETYPE (bench/run.sh uses it; plain
python3, no torch).

  machine.py info                 the CPU: one JSON line (kind "machine")
  machine.py force-kernel PICKED  the kernel to force when OpenBLAS picked PICKED, or nothing
  machine.py meta OUT             the meta line of run OUT (run.sh's environment gives the run's settings)
  machine.py failed LABEL PART BATCH EXIT STDERR_FILE   the JSON line of a configuration that died
  machine.py selftest             the kernel choice on the flags of known CPUs

A forced kernel is only worth trying where OpenBLAS fell back to a kernel
without AVX2 because it did not know the CPU model (as tapegrad does in
autograd/backend/blas.cpp), and only one the CPU can run: SkylakeX needs
AVX-512 F, CD, BW, DQ and VL; Zen (AMD, Hygon) and Haswell need AVX2 and FMA.
Forcing SkylakeX on a CPU without AVX-512 dies with "Illegal instruction".

For testing only: BENCH_FAKE_CPU_FLAGS (space-separated /proc/cpuinfo flags)
and BENCH_FAKE_CPU_VENDOR (e.g. AuthenticAMD) replace the real CPU's (and
run.sh's BENCH_FAKE_OPENBLAS_KERNEL the kernel OpenBLAS picked); the machine
line of such a run says SIMULATED.
"""
import json
import os
import sys

AVX512_FOR_SKYLAKEX = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}

# OpenBLAS 0.3.21's x86-64 kernels without AVX2: on a CPU that has AVX2,
# OpenBLAS picks one of these only because it does not know the model.
FALLBACK_KERNELS = {"prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "nano",
                    "katmai", "coppermine", "northwood", "banias", "athlon", "opteron", "opteron_sse3",
                    "barcelona", "bobcat", "unknown"}


def cpuinfo_field(name):
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return ""


# The test-only variables (run.sh's header); a run under any of them says so.
FAKES = ("BENCH_FAKE_CPU_FLAGS", "BENCH_FAKE_CPU_VENDOR", "BENCH_FAKE_OPENBLAS_KERNEL")


def cpu_flags():
    """(flags, simulated): the flags Linux reports for this CPU (only what the
    kernel enabled: it drops AVX and AVX-512 when it does not save their
    registers), or BENCH_FAKE_CPU_FLAGS's."""
    fake = os.environ.get("BENCH_FAKE_CPU_FLAGS")
    if fake is not None:
        return set(fake.split()), True
    return set(cpuinfo_field("flags").split()), False


def cpu_vendor():
    return os.environ.get("BENCH_FAKE_CPU_VENDOR") or cpuinfo_field("vendor_id")


def vector_isa(flags):
    """The widest vector instruction set of these flags, as people name it."""
    if AVX512_FOR_SKYLAKEX <= flags:
        return "AVX-512"
    if "avx512f" in flags:
        return "AVX-512 F without BW/DQ/VL"
    if {"avx2", "fma"} <= flags:
        return "AVX2+FMA"
    for flag, name in (("avx", "AVX"), ("sse4_2", "SSE4.2"), ("ssse3", "SSSE3"), ("pni", "SSE3"), ("sse2", "SSE2")):
        if flag in flags:
            return name
    return "no x86 vector ISA reported"


def best_kernel(flags, vendor):
    """The fastest OpenBLAS 0.3.21 kernel a CPU with these flags can run, or None."""
    if AVX512_FOR_SKYLAKEX <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        # Zen is OpenBLAS's AVX2 kernel set tuned for AMD's caches.
        return "Zen" if vendor in ("AuthenticAMD", "HygonGenuine") else "Haswell"
    return None


def kernel_to_force(flags, vendor, picked):
    """The kernel worth forcing where OpenBLAS picked `picked`, or None: only
    when `picked` is a fallback without AVX2 and the CPU runs a better one."""
    best = best_kernel(flags, vendor)
    if best is None or (picked or "").lower() not in FALLBACK_KERNELS:
        return None
    return best


def machine_info():
    flags, simulated = cpu_flags()
    vendor = cpu_vendor()
    info = {"kind": "machine", "cpu": cpuinfo_field("model name") or "unknown CPU", "vendor": vendor,
            "isa": vector_isa(flags), "cores": len(os.sched_getaffinity(0)), "cores_online": os.cpu_count(),
            "best_kernel": best_kernel(flags, vendor)}
    fakes = [v for v in FAKES if v in os.environ]
    if fakes:
        info["simulated"] = " ".join(f"{v}={os.environ[v]}" for v in fakes)
    return info


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def read_lines(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a dying process; its failure is recorded apart
    return rows


def machine_line(meta):
    """The machine in one line of text: CPU, ISA, cores, the kernels, the load."""
    torch = "; ".join(f"{c['impl']} {c.get('openblas_kernel') or '?'} "
                      f"({c.get('torch_threads', '?')} intra-op, OpenBLAS {c.get('openblas_threads', '?')})"
                      for c in meta.get("torch_configs", []))
    failed = "".join(f"; {f['impl']} FAILED ({f['reason']})" for f in meta.get("torch_failed", []))
    simulated = f" [SIMULATED: {meta['simulated']}]" if meta.get("simulated") else ""
    return (f"machine: {meta.get('cpu', '?')}, {meta.get('isa', '?')}, {meta.get('cores', '?')} cores{simulated}; "
            f"tapegrad's BLAS: {meta.get('tapegrad_kernel', '?')}; PyTorch's OpenBLAS: {torch or '?'}{failed}; "
            f"load average {meta.get('load', '?')}")


def meta(path):
    """The meta line of the run in `path`: the machine, the run's settings
    (run.sh's environment), the kernel of tapegrad and of every PyTorch
    configuration probed so far, the load average now."""
    rows = read_lines(path)
    info = next((r for r in rows if r.get("kind") == "machine"), None) or machine_info()
    blas = next((r for r in rows if r.get("kind") == "blas"), {})
    out = {"kind": "meta", "date": os.environ.get("BENCH_DATE", ""), "cpu": info["cpu"], "vendor": info["vendor"],
           "isa": info["isa"], "cores": info["cores"], "threads": int(os.environ.get("THREADS", info["cores"])),
           "epochs": int(os.environ.get("EPOCHS", "0")), "cnn_epochs": int(os.environ.get("CNN_EPOCHS", "0")),
           "chargpt_steps": int(os.environ.get("CHARGPT_STEPS", "0")),
           "tapegrad_kernel": blas.get("kernel", "?"),
           "torch_configs": [{k: c.get(k) for k in ("impl", "env", "torch_threads", "openblas_kernel",
                                                    "openblas_threads")}
                             for c in rows if c.get("kind") == "torch_config"],
           "torch_failed": [{"impl": f["impl"], "reason": f["reason"]} for f in rows
                            if f.get("kind") == "failed" and f.get("part") == "probe"],
           "load": load_average()}
    if info.get("simulated"):
        out["simulated"] = info["simulated"]
    return out


def failed(label, part, batch, code, stderr_path):
    """A configuration that exited non-zero or died of a signal, with the last
    line it wrote to stderr."""
    code = int(code)
    # A shell reports death by signal N as 128 + N.
    reason = f"exit {code}"
    if code > 128:
        import signal
        try:
            reason = f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    try:
        with open(stderr_path, errors="replace") as f:
            last = [line.strip() for line in f if line.strip()]
    except OSError:
        last = []
    if last:
        reason += f": {last[-1][:200]}"
    return {"kind": "failed", "impl": label, "part": part, "batch": int(batch) if batch.isdigit() else None,
            "exit": code, "reason": reason}


def selftest():
    """The kernel choice for the CPUs that matter: each case states what
    OpenBLAS 0.3.21 picks there and what must (not) be forced."""
    avx2 = {"sse2", "ssse3", "sse4_2", "avx", "avx2", "fma"}
    avx512 = avx2 | AVX512_FOR_SKYLAKEX
    cases = [
        # (what, flags, vendor, OpenBLAS's pick, kernel to force)
        ("Sapphire Rapids unknown to 0.3.21", avx512, "GenuineIntel", "Prescott", "SkylakeX"),
        ("this Xeon, known to 0.3.21", avx512, "GenuineIntel", "SkylakeX", None),
        ("Zen 3 (AVX2, no AVX-512), known", avx2, "AuthenticAMD", "Zen", None),
        ("Zen 3 unknown to OpenBLAS", avx2, "AuthenticAMD", "Prescott", "Zen"),
        ("Intel AVX2 unknown to OpenBLAS", avx2, "GenuineIntel", "Nehalem", "Haswell"),
        ("AVX-512 F only (Knights Landing-like)", avx2 | {"avx512f", "avx512cd"}, "GenuineIntel", "Prescott",
         "Haswell"),
        ("AVX without AVX2", {"sse2", "avx"}, "GenuineIntel", "Prescott", None),
        ("AVX2 without FMA", {"sse2", "avx", "avx2"}, "GenuineIntel", "Prescott", None),
        ("Linux dropped AVX (noxsave)", {"sse2", "sse4_2"}, "GenuineIntel", "Nehalem", None),
    ]
    bad = 0
    for what, flags, vendor, picked, want in cases:
        got = kernel_to_force(flags, vendor, picked)
        ok = got == want
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: OpenBLAS picked {picked}, force {got} (want {want})")
    if vector_isa(avx2) != "AVX2+FMA" or vector_isa(avx512) != "AVX-512":
        print("FAIL vector_isa")
        bad += 1
    return 1 if bad else 0


def main(args):
    if args == ["info"]:
        print(json.dumps(machine_info()))
    elif len(args) == 2 and args[0] == "force-kernel":
        flags, _ = cpu_flags()
        print(kernel_to_force(flags, cpu_vendor(), args[1]) or "")
    elif len(args) == 2 and args[0] == "meta":
        m = meta(args[1])
        print(json.dumps(m))
        print(machine_line(m), file=sys.stderr)
    elif len(args) == 6 and args[0] == "failed":
        print(json.dumps(failed(*args[1:])))
    elif args == ["selftest"]:
        return selftest()
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
