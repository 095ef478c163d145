// The examples' check of the files a run will write (--save, --metrics,
// --plot, ...), done while parsing the flags: every one must be writable now,
// rather than fail after an hour of training: a directory to go to, not a
// directory itself nor anything else io::write_file_atomically would refuse,
// and no two outputs naming the same file (the second write would replace
// the first). Nothing is created here.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/atomic_file.hpp>

namespace examples {

// `outputs`: each flag with the path it was given ("" = not given). Throws
// CLI::ValidationError naming the flag.
inline void check_outputs(const std::vector<std::pair<const char*, const std::string*>>& outputs) {
    namespace fs = std::filesystem;
    std::vector<std::pair<const char*, fs::path>> seen;
    for (const auto& [flag, path] : outputs) {
        if (path->empty()) continue;
        try {
            tapegrad::io::check_writable(*path);
        } catch (const tapegrad::Error& e) {
            throw CLI::ValidationError(flag, e.what());
        }
        std::error_code error;
        // Absolute first: weakly_canonical leaves a relative name that does not exist yet as it is.
        const fs::path canonical = fs::weakly_canonical(fs::absolute(*path, error), error);
        if (error) throw CLI::ValidationError(flag, "'" + *path + "': " + error.message());
        for (const auto& [other_flag, other] : seen)
            if (other == canonical)
                throw CLI::ValidationError(flag, "'" + *path + "' is also the " + other_flag +
                                                     " file; each output needs its own");
        seen.emplace_back(flag, canonical);
    }
}

}  // namespace examples
