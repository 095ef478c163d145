// Building /bin/sh command lines in tests that run the built programs.
#pragma once

#include <string>

namespace tapegrad::testing {

// `text` as one single-quoted shell word, whatever characters it holds.
inline std::string shell_quoted(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

}  // namespace tapegrad::testing
