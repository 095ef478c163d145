// This process's resident set size, from /proc/self/statm (Linux).
#pragma once

#include <cstddef>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

inline std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t total_pages = 0, resident_pages = 0;
    if (!(statm >> total_pages >> resident_pages)) throw std::runtime_error("cannot read /proc/self/statm");
    return resident_pages * std::size_t(::sysconf(_SC_PAGESIZE));
}
