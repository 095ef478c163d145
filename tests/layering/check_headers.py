#!/usr/bin/env python3
"""The header check: no public header can be forgotten by the install lists or
by the umbrella header.

    check_headers.py ROOT INSTALLED_JSON

ROOT is the source tree; INSTALLED_JSON is meson's record of what `meson
install` installs (BUILD/meson-info/intro-installed.json: source path ->
installed path), so the install lists are read as meson reads them, from each
layer's install_headers(). Fails, naming the header, when
  - a header at the top of a layer folder is not installed, unless its
    `/// \\file` comment says it is private ("not installed"); headers in a
    subfolder (autograd/ops/) are private to their layer;
  - a header is installed elsewhere than <tapegrad/LAYER/file.hpp>;
  - a private header is installed, or included by an installed one (a
    program would find it missing);
  - an installed header is not reached from the umbrella tapegrad.hpp through
    its includes, so `#include <tapegrad/tapegrad.hpp>` would not declare it.
Only the layers this build has are checked (dist/ needs MPI). Run by
`meson test headers`; test_check_headers.py proves it can fail.
"""
import json
import os
import re
import sys

from check_layers import ALLOWED, INCLUDE, UMBRELLA, report

PRIVATE = re.compile(r'\bnot\s+installed\b', re.I)


def file_comment(path):
    """The `///` lines at the top of a header: its \\file comment."""
    lines = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for text in f:
            if not text.startswith('///'):
                break
            lines.append(text[3:].strip())
    return ' '.join(lines)


def tapegrad_includes(path):
    """The headers `path` includes as <tapegrad/...>, relative to the tree."""
    found = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for text in f:
            match = INCLUDE.match(text)
            if match and match.group(2).startswith('tapegrad/'):
                found.append(match.group(2)[len('tapegrad/'):])
    return found


def check(root, installed_json):
    root = os.path.abspath(root)
    with open(installed_json, encoding='utf-8') as f:
        installed = {}
        for source, destination in json.load(f).items():
            relative = os.path.relpath(source, root)
            if relative.endswith('.hpp') and not relative.startswith('..'):
                installed[relative] = destination
    # The layers this build has: those that install a header (generated
    # headers come from the build tree, which may be anywhere).
    layers = sorted({relative.split('/')[0] for relative in installed} & set(ALLOWED))
    problems = []
    private = set()
    for layer in layers:
        for directory, subdirectories, files in os.walk(os.path.join(root, layer)):
            subdirectories.sort()
            for name in sorted(files):
                if not name.endswith('.hpp'):
                    continue
                relative = os.path.relpath(os.path.join(directory, name), root)
                top = os.path.dirname(relative) == layer
                marked = PRIVATE.search(file_comment(os.path.join(root, relative)))
                if relative in installed:
                    if not top or marked:
                        problems.append(f'{relative}: installed, but private (its \\file comment or its folder says so)')
                    elif not installed[relative].endswith('/tapegrad/' + relative):
                        problems.append(f'{relative}: installed as {installed[relative]}, not as <tapegrad/{relative}>')
                elif top and not marked:
                    problems.append(f'{relative}: not installed: add it to install_headers() in {layer}/meson.build, '
                                    'or say "(not installed)" in its \\file comment if it is private to the layer')
                else:
                    private.add(relative)

    # Everything the umbrella reaches, following <tapegrad/...> includes.
    reached, pending = set(), [UMBRELLA]
    while pending:
        header = pending.pop()
        if header in reached or not os.path.isfile(os.path.join(root, header)):
            continue  # generated (config.hpp, version.hpp) or missing: the compiler says
        reached.add(header)
        pending += tapegrad_includes(os.path.join(root, header))
    for header in sorted(installed):
        if header.split('/')[0] in ALLOWED and header not in reached:
            problems.append(f'{header}: installed but not reached from {UMBRELLA}: include it there')
        for included in tapegrad_includes(os.path.join(root, header)):
            if included in private:
                problems.append(f'{header}: installed, but includes the private <tapegrad/{included}>')
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    problems = check(sys.argv[1], sys.argv[2])
    return report(problems, f'headers: {len(problems)} problem(s) with the public headers',
                  'headers: every public header is installed and reached from the umbrella header')


if __name__ == '__main__':
    sys.exit(main())
