// A character device for tests that write to devices: a copy of /dev/NAME
// (null, full, ...) made inside a test's own directory with mknod, so a
// regression can never replace the machine's /dev/null. Without the
// privilege to mknod, the system's /dev/NAME itself, which an unprivileged
// process cannot replace anyway.
#pragma once

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <stdexcept>
#include <string>

#include "temp_dir.hpp"

namespace tapegrad::testing {

inline std::string scratch_device(const TempDir& dir, const std::string& name) {
    const std::string system_device = "/dev/" + name;
    struct stat device {};
    if (::stat(system_device.c_str(), &device) != 0 || !S_ISCHR(device.st_mode))
        throw std::runtime_error(system_device + " is not a character device here");
    const std::string copy = dir.file(name);
    if (::mknod(copy.c_str(), S_IFCHR | 0666, device.st_rdev) == 0) return copy;
    return system_device;
}

}  // namespace tapegrad::testing
