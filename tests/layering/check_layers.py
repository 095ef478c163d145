#!/usr/bin/env python3
"""The layering check: which part of tapegrad may include which.

    check_layers.py [ROOT]     (ROOT: the source tree, default: this file's ../..)

Scans every .hpp/.cpp under the layer folders of ROOT (and ROOT/tapegrad.hpp)
and fails, naming file:line and both layers, when library code
  - includes a higher layer or a peer (see ALLOWED), or a header of a lower
    layer that ONLY keeps from it,
  - includes a tapegrad header other than as <tapegrad/LAYER/...> (quotes,
    relative paths, a bare <nn/...>), so installed headers resolve the same,
  - includes anything from examples/ or tests/,
  - is longer than MAX_LINES: a file that grew past one job is split by
    responsibility (issue #21), before it grows further.
Run by `meson test layering`; tests/layering/test_check_layers.py proves it
can fail.
"""
import os
import re
import sys

# The one table of allowed dependencies, lowest layer first (the root
# meson.build lists the layers in this order). A layer may include its own
# headers and those of the layers listed for it, nothing else: nn, optim and
# data are peers, none includes another.
ALLOWED = {
    'autograd': [],
    'io': ['autograd'],
    'nn': ['autograd', 'io'],
    'optim': ['autograd', 'io'],
    'data': ['autograd', 'io'],
    'train': ['autograd', 'io', 'nn', 'optim', 'data'],
    'dist': ['autograd', 'io', 'nn', 'optim', 'data', 'train'],
}
# Where a layer may include only some headers of a layer below it: io sits
# under the tape, so from autograd it takes only the core header (tapegrad::
# Error and shapes), never tensor.hpp and the ops.
ONLY = {
    ('io', 'autograd'): {'error.hpp'},
}
# Generated into build/include/tapegrad/ (version, ABI flags): below every layer.
GENERATED = {'version.hpp', 'config.hpp'}
UMBRELLA = 'tapegrad.hpp'  # includes every layer; no layer includes it
MAX_LINES = 500  # per library file

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def show(quote, target):
    return f'<{target}>' if quote == '<' else f'"{target}"'


def problems_in(root, relative, layer):
    """Yields 'file:line: message' for each bad include of one file."""
    with open(os.path.join(root, relative), encoding='utf-8', errors='replace') as f:
        for number, text in enumerate(f, 1):
            match = INCLUDE.match(text)
            if not match:
                continue
            quote, target = match.groups()
            where = f'{relative}:{number}: {layer}'
            parts = target.split('/')
            if 'examples' in parts or 'tests' in parts:
                yield f'{where} includes {show(quote, target)}: library code never includes examples/ or tests/'
                continue
            if quote == '"' or '..' in parts or parts[0] in ALLOWED or parts[0] in GENERATED or parts[0] == UMBRELLA:
                yield f'{where} includes {show(quote, target)}: include tapegrad headers as <tapegrad/LAYER/file.hpp>'
                continue
            if parts[0] != 'tapegrad':
                continue  # the standard library, xtensor, zlib, ...
            if len(parts) == 2 and parts[1] in GENERATED:
                continue
            if len(parts) == 2 and parts[1] == UMBRELLA:
                if layer != UMBRELLA:
                    yield f'{where} includes <{target}>, the umbrella of every layer: include the headers it needs'
                continue
            included = parts[1]
            if included not in ALLOWED:
                yield f'{where} includes <{target}>: no layer "{included}"'
            elif layer != UMBRELLA and included != layer and included not in ALLOWED[layer]:
                # `included` may include `layer`: it is above; neither: peers.
                kind = 'the higher layer' if layer in ALLOWED[included] else 'the peer layer'
                yield f'{where} includes <{target}>: {layer} may not include {kind} {included} (allowed: {", ".join(ALLOWED[layer]) or "nothing below it"})'
            elif (layer, included) in ONLY and '/'.join(parts[2:]) not in ONLY[(layer, included)]:
                yield f'{where} includes <{target}>: {layer} may include from {included} only {", ".join(sorted(ONLY[(layer, included)]))}'


def length_problems(root, relative):
    with open(os.path.join(root, relative), encoding='utf-8', errors='replace') as f:
        lines = sum(1 for _ in f)
    if lines > MAX_LINES:
        yield f'{relative}: {lines} lines, more than {MAX_LINES}: split it by responsibility'


def table_problems(root):
    """The table itself: each layer allowed only layers listed before it, and
    the same layers in the same order as tapegrad_layers in ROOT/meson.build
    (with the optional ones it appends)."""
    problems = []
    order = list(ALLOWED)
    for layer, below in ALLOWED.items():
        for lower in below:
            if lower not in order[:order.index(layer)]:
                problems.append(f'ALLOWED: {layer} may include {lower}, which is not below it')
    meson = os.path.join(root, 'meson.build')
    if os.path.isfile(meson):
        with open(meson, encoding='utf-8') as f:
            text = f.read()
        declared = re.search(r'^tapegrad_layers\s*=\s*\[([^\]]*)\]', text, re.M)
        layers = re.findall(r"'([^']+)'", declared.group(1)) if declared else None
        # Optional layers (dist, with MPI) are appended where their dependency is found.
        if layers is not None:
            layers += re.findall(r"^\s*tapegrad_layers\s*\+=\s*'([^']+)'", text, re.M)
        if layers != order:
            problems.append(f'meson.build: tapegrad_layers is {layers}, but ALLOWED lists {order}')
    return problems


def check(root):
    problems = table_problems(root)
    if os.path.isfile(os.path.join(root, UMBRELLA)):
        problems += problems_in(root, UMBRELLA, UMBRELLA)
    for layer in ALLOWED:
        for directory, subdirectories, files in os.walk(os.path.join(root, layer)):
            subdirectories.sort()
            for name in sorted(files):
                if name.endswith(('.hpp', '.cpp', '.h')):
                    relative = os.path.relpath(os.path.join(directory, name), root)
                    problems += problems_in(root, relative, layer)
                    problems += length_problems(root, relative)
    return problems


def report(problems, failure, success):
    """Prints each problem, then `failure` (if any) or `success`; returns the
    exit status. Shared with check_headers.py."""
    for problem in problems:
        print(problem)
    print(failure if problems else success)
    return 1 if problems else 0


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    problems = check(root)
    return report(problems, f'layering: {len(problems)} problem(s): includes that break the layers (table ALLOWED in {os.path.abspath(__file__)}) or files too long',
                  f'layering: every include of every layer is allowed, and no file is over {MAX_LINES} lines')


if __name__ == '__main__':
    sys.exit(main())
