"""A checkpoint written by 2 processes resumes on 3, and ends where one
process training from the start ends (dist_train --reference checks that).

resume.py MPIRUN DIST_TRAIN
"""
import os
import subprocess
import sys
import tempfile

import mpirun

launcher, program = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    checkpoint = os.path.join(tmp, 'run.ckpt.npz')
    first = subprocess.run(mpirun.command(launcher, 2, program, ['--epochs', '2', '--checkpoint', checkpoint]),
                           env=mpirun.environment(), timeout=240)
    if first.returncode != 0 or not os.path.exists(checkpoint):
        sys.exit('the 2-process run failed (status %d) or wrote no checkpoint' % first.returncode)
    second = subprocess.run(mpirun.command(launcher, 3, program, ['--epochs', '4', '--resume', checkpoint, '--reference']),
                            env=mpirun.environment(), timeout=240, stdout=subprocess.PIPE, text=True)
    print(second.stdout)
    if second.returncode != 0:
        sys.exit('the 3-process resumed run failed or differs from one process (status %d)' % second.returncode)
    if 'epoch   3/4' not in second.stdout or 'epoch   1/4' in second.stdout:
        sys.exit('the resumed run did not continue at epoch 3')
