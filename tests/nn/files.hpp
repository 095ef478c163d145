// Temporary directories and whole-file byte access for the nn tests.
#pragma once

#include <fstream>
#include <iterator>
#include <string>

#include "../common/temp_dir.hpp"

using tapegrad::testing::TempDir;

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}
