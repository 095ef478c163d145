#!/usr/bin/env bash
# Runs Doxygen on tapegrad's public headers (meson's `docs` target and the
# `docs` test call it) and fails while anything is undocumented or a doc
# comment is broken.
#   check-docs.sh [--html] DOXYGEN DOXYFILE
# --html writes the HTML reference (build/docs/html/) and reports without
# failing; otherwise only the warnings are produced and any fails.
#
# Doxygen checks a namespace's functions and a header's macros only once the
# namespace or the file itself is documented, and never says that one is not:
# so namespaces and headers without a description are added to its warnings
# here, from its XML output (a header is documented by a `/// \file` comment).
# So is a macro Doxyfile.in expands (EXPAND_AS_DEFINED) that shows up as a
# member of its own name: left unexpanded, its members are missing from the
# reference although nothing else is reported.
set -euo pipefail
html=NO
if [ "${1:-}" = --html ]; then html=YES; shift; fi
doxygen=$1 doxyfile=$2
log=$(sed -n 's/^WARN_LOGFILE *= *//p' "$doxyfile")
out=$(sed -n 's/^OUTPUT_DIRECTORY *= *//p' "$doxyfile")
mkdir -p "$out"
rm -rf "$log" "$out/xml"
{ cat "$doxyfile"; echo "GENERATE_HTML = $html"; echo "GENERATE_XML = YES"; } | "$doxygen" -

python3 - "$out/xml" "$doxyfile" >> "$log" <<'PY'
import re, sys, xml.etree.ElementTree as ET
from pathlib import Path
xml = Path(sys.argv[1])
setting = re.search(r'^EXPAND_AS_DEFINED\s*=((?:.*\\\n)*.*)$', Path(sys.argv[2]).read_text(), re.M)
expanded = set(setting.group(1).replace('\\', ' ').split()) if setting else set()
for compound in ET.parse(xml / 'index.xml').getroot().iter('compound'):
    kind = compound.get('kind')
    for member in compound.iter('member'):
        if member.findtext('name') in expanded and member.get('kind') != 'define':
            print(f'{compound.findtext("name")}: warning: the macro {member.findtext("name")} was not expanded '
                  '(EXPAND_AS_DEFINED in Doxyfile.in; is its header reachable through INCLUDE_PATH?)')
    # std: Doxygen's own entry for specialisations such as std::hash<...>.
    # A page of docs/ (*.md) is a file too, and a page is its own description.
    name = compound.findtext('name')
    if kind not in ('namespace', 'file') or name == 'std' or name.endswith('.md'):
        continue
    definition = ET.parse(xml / (compound.get('refid') + '.xml')).getroot().find('compounddef')
    described = any(''.join(definition.find(tag).itertext()).strip()
                    for tag in ('briefdescription', 'detaileddescription'))
    if not described:
        location = definition.find('location').get('file')
        print(f'{location}:1: warning: {kind.capitalize()} {compound.findtext("name")} is not documented.')
PY

undocumented=$(grep -c 'is not documented' "$log" || true)
if [ -s "$log" ]; then
    [ "$html" = YES ] || cat "$log"
    echo "docs: $(wc -l < "$log") warnings, $undocumented of them undocumented symbols ($log)"
    [ "$html" = YES ] || exit 1
else
    echo "docs: every public symbol is documented"
fi
if [ "$html" = YES ]; then echo "docs: $(dirname "$log")/html/index.html"; fi
