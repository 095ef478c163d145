"""Runs a program under Open MPI's mpirun on this machine alone, as the
distributed tests need it: any number of processes on few cores
(--oversubscribe, no core binding), as root when CI runs as root
(--allow-run-as-root), shared memory between the processes without the
kernel's cross-memory attach (which containers often forbid), and waiting
processes that yield their core.

As a program: mpirun.py MPIRUN NP PROGRAM [ARGS...] runs it and exits with
its status. As a module: command() and environment() for the other tests.
"""
import os
import subprocess
import sys


def command(mpirun, np, program, args=()):
    cmd = [mpirun, '-np', str(np), '--oversubscribe', '--bind-to', 'none']
    if os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    return cmd + [program] + list(args)


def environment():
    env = dict(os.environ)
    # Loopback and shared memory only: no probing of other networks.
    env.setdefault('OMPI_MCA_btl', 'self,vader')
    env.setdefault('OMPI_MCA_btl_vader_single_copy_mechanism', 'none')
    env.setdefault('OMPI_MCA_oob_tcp_if_include', 'lo')
    # More processes than free cores (CI has 2, shared): a process waiting in
    # a collective yields its core instead of spinning (10x faster measured
    # on a loaded 2-core machine).
    env.setdefault('OMPI_MCA_mpi_yield_when_idle', '1')
    return env


if __name__ == '__main__':
    if len(sys.argv) < 4:
        sys.exit('usage: mpirun.py MPIRUN NP PROGRAM [ARGS...]')
    sys.exit(subprocess.call(command(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]), env=environment()))
