"""A failing process ends the whole job, non-zero and naming the rank, in
bounded time (never a hang): one process killed by SIGKILL mid-training, and
an exception escaping main() on one process.

failure.py MPIRUN DIST_TRAIN
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import mpirun

BOUND = 60  # seconds from the failure to the end of the job

launcher, program = sys.argv[1], sys.argv[2]


def run(args, until=None):
    """Starts a 3-process job; calls until(line, proc) on each output line.
    Returns (status, output, seconds from the last until() call that returned
    True to the end)."""
    proc = subprocess.Popen(mpirun.command(launcher, 3, program, args), env=mpirun.environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killer = threading.Timer(BOUND + 120, proc.kill)  # the test must end even if the job hangs
    killer.start()
    lines, failed_at = [], None
    for line in proc.stdout:
        lines.append(line)
        if failed_at is None and until and until(line, lines):
            failed_at = time.monotonic()
    status = proc.wait()
    killer.cancel()
    end = time.monotonic()
    output = ''.join(lines)
    return status, output, (end - failed_at) if failed_at else None


# 1. kill -9 rank 1 once rank 0 has finished epoch 2 (of a million).
def kill_rank1(line, lines):
    if not line.startswith('epoch   2/'):
        return False
    pids = dict(re.findall(r'^rank (\d+) pid (\d+)$', ''.join(lines), re.M))
    os.kill(int(pids['1']), signal.SIGKILL)
    return True


status, output, seconds = run(['--epochs', '1000000'], kill_rank1)
print(output[-2000:])
if seconds is None:
    sys.exit('the job ended before rank 1 could be killed (status %d)' % status)
print('killed rank 1: the job ended %.1f s later with status %d' % (seconds, status))
if status == 0 or seconds > BOUND or 'rank 1' not in output.split('epoch   2/')[-1]:
    sys.exit('FAILED: a killed rank must end the job non-zero within %d s, naming rank 1' % BOUND)

# 2. An exception escapes main() on rank 2 after its second epoch.
start = time.monotonic()
status, output, _ = run(['--epochs', '1000000', '--throw-on-rank', '2'])
seconds = time.monotonic() - start
print(output[-2000:])
print('rank 2 threw: the job ended after %.1f s with status %d' % (seconds, status))
if status == 0 or seconds > BOUND or 'rank 2: planned failure' not in output:
    sys.exit('FAILED: an exception on rank 2 must end the job non-zero within %d s, naming rank 2' % BOUND)
