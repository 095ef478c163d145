#!/bin/sh
# Doxygen's input filter for autograd/ops.hpp (FILTER_PATTERNS in Doxyfile.in):
# writes the file with the X-macro list autograd/op_list.hpp pasted in place
# of its #include, inside namespace tapegrad, as a compiler sees it. Doxygen
# 1.9.4 (Debian 12) reads an #include inside braces for its macros only and
# drops its text, so without this it would never see the ops.
#   doxygen-inline-op-list.sh FILE
# The pasted text is framed by cpp's line markers (`# LINE "FILE"`), which
# Doxygen's parser follows, so an op's location (and a warning about it) is
# its line in op_list.hpp and the rest of ops.hpp keeps its own lines. Each
# marker follows a `;` because Doxygen's preprocessor swallows a line that
# starts with `#`; an empty declaration is harmless.
# If the list cannot be read, the #include stays and Doxygen warns about it.
exec awk '
/^#include <tapegrad\/autograd\/op_list\.hpp>$/ {
    list = FILENAME
    sub(/[^\/]*$/, "op_list.hpp", list)
    if ((getline line < list) > 0) {
        print ";# 0 \"" list "\" 1"
        do print line; while ((getline line < list) > 0)
        print ";# " FNR " \"" FILENAME "\" 2"
        next
    }
}
{ print }' "$1"
