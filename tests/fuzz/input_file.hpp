// The readers under test take a path, so each fuzz input is written to an
// anonymous in-memory file (memfd) and handed over as /proc/self/fd/<n>: no
// disk traffic, nothing left behind, and a fresh open() per read.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

class InputFile {
public:
    InputFile() : fd_(::memfd_create("tapegrad-fuzz", 0)) {
        if (fd_ < 0) std::abort();
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    ~InputFile() { ::close(fd_); }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;

    // Replaces the file's contents with data[0, size).
    const std::string& hold(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) std::abort();
        for (std::size_t done = 0; done < size;) {
            const ssize_t wrote = ::write(fd_, data + done, size - done);
            if (wrote <= 0) std::abort();
            done += std::size_t(wrote);
        }
        return path_;
    }

private:
    int fd_;
    std::string path_;
};
