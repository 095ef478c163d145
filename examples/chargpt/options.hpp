// The command line of the chargpt example (issue #20, item 5): which model,
// how long to train, where the words come from and where results go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "words.hpp"

namespace chargpt {

// The defaults are the configuration of docs/cli.md (and of torch_reference.py).
struct Options {
    std::string model = "gpt";  // "gpt" (makemore's transformer), "lstm" or "gru"
    std::size_t steps = 5000;
    std::size_t batch_size = 32;
    std::uint64_t seed = 1;     // initial weights and batches; not the test set (words.hpp)
    std::size_t sample = 0;     // new words to draw from the model at the end; 0 = none
    std::string words = default_words_path;
    std::string save, load, metrics, plot;
};

// Where parsing ended: run with `options`, or exit now with `exit_code`
// (0 after --help, 2 after a usage error, already reported on stderr).
struct ParsedCommandLine {
    Options options;
    std::optional<int> exit_code;
};

ParsedCommandLine parse_command_line(int argc, char** argv);

}  // namespace chargpt
