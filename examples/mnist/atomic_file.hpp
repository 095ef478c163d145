// Text outputs (CSV, SVG) are written whole or not at all: a reader, or a
// run that dies halfway, never leaves a half-written file behind.
#pragma once

#include <string>

namespace mnist {

// Writes `text` to a temporary file beside `path`, flushes it to disk, then
// renames it over `path`. Throws tapegrad::Error naming `path` on failure,
// leaving any previous file untouched.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace mnist
