// The examples' one way to end on a command line that cannot run: --help
// exits 0, a usage error (reported by CLI11 on stderr) exits 2.
#pragma once

#include <optional>

#include <CLI/CLI.hpp>

namespace examples {

// Parses argv into `app`'s options; the exit status when the program should
// stop now (0 after --help, 2 after a usage error), nothing when it should run.
inline std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
}

}  // namespace examples
