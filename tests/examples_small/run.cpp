#include "run.hpp"

#include <array>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include <sys/wait.h>

namespace examples_small {

std::string Run::last(std::size_t from_end) const {
    return from_end < lines.size() ? lines[lines.size() - 1 - from_end] : std::string();
}

Run run(const std::string& command) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot start: " + command);
    Run result;
    std::array<char, 4096> chunk;
    std::size_t got;
    while ((got = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) result.output.append(chunk.data(), got);
    const int status = pclose(pipe);
    if (status != -1 && WIFEXITED(status)) result.status = WEXITSTATUS(status);
    std::istringstream in(result.output);
    for (std::string line; std::getline(in, line);) result.lines.push_back(line);
    return result;
}

}  // namespace examples_small
