#!/usr/bin/env python3
"""Proves the layering check can fail: run on fixtures/bad it must report each
bad include by file:line and layers, and nothing on the allowed ones; run on
fixtures/good it must pass."""
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
check = os.path.join(here, 'check_layers.py')


def run(tree):
    result = subprocess.run([sys.executable, check, tree if os.path.isabs(tree) else os.path.join(here, 'fixtures', tree)],
                            capture_output=True, text=True)
    return result.returncode, result.stdout


failures = []
status, output = run('bad')
if status != 1:
    failures.append(f'fixtures/bad: exit status {status}, expected 1')
expected = [
    'autograd/tensor.hpp:4: autograd includes <tapegrad/nn/module.hpp>: autograd may not include the higher layer nn',
    'nn/module.hpp:4: nn includes <tapegrad/optim/sgd.hpp>: nn may not include the peer layer optim',
    'nn/module.hpp:5: nn includes "linear.hpp": include tapegrad headers as <tapegrad/LAYER/file.hpp>',
    'nn/module.hpp:6: nn includes <autograd/tensor.hpp>: include tapegrad headers as <tapegrad/LAYER/file.hpp>',
    'data/loader.cpp:3: data includes "../../tests/common/temp_dir.hpp": library code never includes examples/ or tests/',
    'data/loader.cpp:4: data includes <tapegrad/tapegrad.hpp>, the umbrella of every layer',
    'data/loader.cpp:5: data includes <examples/mnist/options.hpp>: library code never includes examples/ or tests/',
    'io/atomic_file.cpp:3: io includes <tapegrad/autograd/tensor.hpp>: io may include from autograd only error.hpp',
]
for line in expected:
    if line not in output:
        failures.append(f'fixtures/bad: missing "{line}"')
reported = [line for line in output.splitlines() if not line.startswith('layering:')]
if len(reported) != len(expected):
    failures.append(f'fixtures/bad: {len(reported)} problems reported, expected {len(expected)}')
if 'io/npz.cpp' in output or 'nn/module.hpp:3' in output or 'autograd/tensor.hpp:3' in output:
    failures.append('fixtures/bad: an allowed include was reported')

status, output = run('good')
if status != 0:
    failures.append(f'fixtures/good: exit status {status}, expected 0:\n{output}')

# A file one line over the limit, in a copy of the good tree (made here, so
# that no fixture of 501 lines is committed); exactly at the limit passes.
with tempfile.TemporaryDirectory() as scratch:
    tree = os.path.join(scratch, 'good')
    shutil.copytree(os.path.join(here, 'fixtures', 'good'), tree)
    for lines, name in ((501, 'long.cpp'), (500, 'at_limit.cpp')):
        with open(os.path.join(tree, 'autograd', name), 'w') as f:
            f.write('// a line\n' * lines)
    status, output = run(tree)
    if status != 1 or 'autograd/long.cpp: 501 lines, more than 500' not in output:
        failures.append(f'a 501-line file: exit status {status}, expected 1 naming it:\n{output}')
    if 'at_limit.cpp' in output:
        failures.append('a 500-line file was reported')

for failure in failures:
    print('FAIL:', failure)
print('check_layers.py fails on every bad include and passes allowed ones' if not failures else output)
sys.exit(1 if failures else 0)
