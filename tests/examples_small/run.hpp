// Runs a built example the way a user would and captures what it prints.
#pragma once

#include <string>
#include <vector>

#include "../common/shell.hpp"

namespace examples_small {

struct Run {
    int status = -1;                 // the exit status; -1 if it did not exit normally
    std::string output;              // stdout and stderr, interleaved
    std::vector<std::string> lines;  // output split into lines
    std::string last(std::size_t from_end = 0) const;  // "" when there are not that many lines
};

// `command` goes to /bin/sh, so quote paths with tapegrad::testing::shell_quoted.
Run run(const std::string& command);

}  // namespace examples_small
