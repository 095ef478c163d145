#!/usr/bin/env python3
"""Proves the header check can fail: on fixtures/headers, with an install
record made here as meson writes it, it must report each forgotten, misplaced
or leaked header by name, and nothing about the others."""
import json
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
tree = os.path.join(here, 'fixtures', 'headers')
prefix = '/opt/example/include/tapegrad/'
installed = {os.path.join(tree, name): prefix + name
             for name in ['tapegrad.hpp', 'io/npz.hpp', 'io/leaked.hpp', 'io/forgotten.hpp']}
installed[os.path.join(tree, 'io/misplaced.hpp')] = prefix + 'misplaced.hpp'
installed['/elsewhere/build/config.hpp'] = prefix + 'config.hpp'  # generated: not checked

with tempfile.TemporaryDirectory() as scratch:
    record = os.path.join(scratch, 'intro-installed.json')
    with open(record, 'w', encoding='utf-8') as f:
        json.dump(installed, f)
    result = subprocess.run([sys.executable, os.path.join(here, 'check_headers.py'), tree, record],
                            capture_output=True, text=True)

expected = [
    'io/leaked.hpp: installed, but private (its \\file comment or its folder says so)',
    f'io/misplaced.hpp: installed as {prefix}misplaced.hpp, not as <tapegrad/io/misplaced.hpp>',
    'io/unlisted.hpp: not installed: add it to install_headers() in io/meson.build, '
    'or say "(not installed)" in its \\file comment if it is private to the layer',
    'io/forgotten.hpp: installed but not reached from tapegrad.hpp: include it there',
    'io/npz.hpp: installed, but includes the private <tapegrad/io/ops/helper.hpp>',
    'io/npz.hpp: installed, but includes the private <tapegrad/io/secret.hpp>',
]
failures = []
if result.returncode != 1:
    failures.append(f'exit status {result.returncode}, expected 1')
reported = [line for line in result.stdout.splitlines() if not line.startswith('headers:')]
for line in expected:
    if line not in reported:
        failures.append(f'missing "{line}"')
for line in reported:
    if line not in expected:
        failures.append(f'unexpected "{line}"')
for failure in failures:
    print('FAIL:', failure)
print('check_headers.py reports every forgotten, misplaced or leaked header' if not failures else result.stdout)
sys.exit(1 if failures else 0)
