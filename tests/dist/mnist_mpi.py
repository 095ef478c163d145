"""The mnist example under `mpirun -np 2` and `-np 3`, as docs/distributed.md shows
it: the same flags, the same global batch, and the same results as one
process (per epoch, to float32 rounding; the same test accuracy); rank 0
alone prints and writes its files; a checkpoint of 2 processes resumes on 3.

mnist_mpi.py MPIRUN MNIST
"""
import csv
import os
import random
import struct
import subprocess
import sys
import tempfile

import mpirun

launcher, mnist = sys.argv[1], sys.argv[2]


def write_split(directory, prefix, count, seed):
    """4x4 images of 3 classes: class c lights rows c and c+1 over noise,
    noisy enough that the accuracies are not all 1."""
    rng = random.Random(seed)
    pixels, labels = bytearray(), bytearray()
    for i in range(count):
        label = i % 3
        labels.append(label)
        for row in range(4):
            for _ in range(4):
                pixels.append(rng.randint(90, 255) if row in (label, label + 1) else rng.randint(0, 170))
    with open(os.path.join(directory, prefix + '-images-idx3-ubyte'), 'wb') as f:
        f.write(struct.pack('>IIII', 0x803, count, 4, 4) + bytes(pixels))
    with open(os.path.join(directory, prefix + '-labels-idx1-ubyte'), 'wb') as f:
        f.write(struct.pack('>II', 0x801, count) + bytes(labels))


def run(np, tmp, name, extra=(), epochs=6):
    args = ['--data', tmp, '--layers', '16,12,3', '--batch-size', '25', '--epochs', str(epochs), '--early-stop', '0',
            '--metrics', os.path.join(tmp, name + '.csv'), '--save', os.path.join(tmp, name + '.npz')] + list(extra)
    cmd = mpirun.command(launcher, np, mnist, args) if np else [mnist] + args
    done = subprocess.run(cmd, env=mpirun.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=240)
    print('$ ' + ' '.join(cmd) + '\n' + done.stdout + done.stderr)
    if done.returncode != 0:
        sys.exit('FAILED: status %d' % done.returncode)
    with open(os.path.join(tmp, name + '.csv')) as f:
        return done.stdout, list(csv.DictReader(f))


def same(name, rows, reference, stdout, reference_stdout):
    # float32 sums in another order (~1e-7 relative), written with 6
    # decimals: within 1e-5 relative plus the last decimal.
    if len(rows) != len(reference):
        sys.exit('FAILED: %s ran %d epochs, one process %d' % (name, len(rows), len(reference)))
    for row, ref in zip(rows, reference):
        for key in ('train_loss', 'valid_loss'):
            a, b = float(row[key]), float(ref[key])
            if abs(a - b) > 1e-5 * abs(b) + 1e-6:
                sys.exit('FAILED: %s epoch %s %s %r, one process %r' % (name, row['epoch'], key, a, b))
        for key in ('train_accuracy', 'valid_accuracy'):
            if row[key] != ref[key]:
                sys.exit('FAILED: %s epoch %s %s %s, one process %s' % (name, row['epoch'], key, row[key], ref[key]))
    accuracy = [line for line in stdout.splitlines() if line.startswith('test accuracy')]
    if accuracy != [line for line in reference_stdout.splitlines() if line.startswith('test accuracy')]:
        sys.exit('FAILED: %s printed %r' % (name, accuracy))
    if stdout.count('epoch   6/') != 1:
        sys.exit('FAILED: %s printed its last epoch line %d times (rank 0 alone prints)' % (name, stdout.count('epoch   6/')))


with tempfile.TemporaryDirectory() as tmp:
    write_split(tmp, 'train', 300, 1)
    write_split(tmp, 't10k', 60, 2)
    one_out, one = run(0, tmp, 'one')
    for np in (2, 3):
        out, rows = run(np, tmp, 'np%d' % np)
        same('-np %d' % np, rows, one, out, one_out)
    # Epochs 1-3 on 2 processes, 4-6 resumed on 3.
    checkpoint = os.path.join(tmp, 'run.ckpt.npz')
    run(2, tmp, 'first', ['--checkpoint', checkpoint], epochs=3)
    out, rows = run(3, tmp, 'resumed', ['--resume', checkpoint])
    same('-np 2 resumed on -np 3', rows, one, out, one_out)
    leftovers = [f for f in os.listdir(tmp) if f.startswith('.')]
    if leftovers:
        sys.exit('FAILED: temporary files left: %r' % leftovers)
print('mnist under mpirun -np 2 and 3 trains as one process')
