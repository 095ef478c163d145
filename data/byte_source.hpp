// The bytes of a file, inflated on the fly when it begins with the gzip magic
// (1f 8b). Unlike zlib's gzread, which silently ignores anything after a gzip
// stream, it reports how the data ended, so callers can reject damaged files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

namespace tapegrad {

class ByteSource {
public:
    // Throws tapegrad::Error naming the path and the system's reason if it
    // cannot be opened, or what it is if it is not a regular file (a FIFO, a
    // directory, a device): nothing else is read, so nothing can block.
    explicit ByteSource(const std::string& path);
    ~ByteSource();
    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;

    // Up to n bytes into dst; fewer only when the data ends. Throws on corrupt
    // gzip data (bad deflate stream, CRC or length mismatch).
    std::size_t read(std::uint8_t* dst, std::size_t n);

    // Once read() has come up short: why the data ended, or "" when the file
    // simply ended (raw) or the gzip stream ended exactly at the end of the file.
    const std::string& end_problem() const { return end_problem_; }

    bool compressed() const { return gzip_; }
    std::uint64_t offset() const { return offset_; }  // bytes delivered so far (uncompressed)
    const std::string& path() const { return path_; }

private:
    std::size_t read_raw(std::uint8_t* dst, std::size_t n);
    std::size_t read_gzip(std::uint8_t* dst, std::size_t n);
    bool refill();
    [[noreturn]] void fail(const std::string& why) const;

    std::string path_;
    std::FILE* file_ = nullptr;
    bool gzip_ = false;
    z_stream zs_{};
    bool stream_ended_ = false;
    bool trailing_checked_ = false;
    std::uint64_t size_ = 0;  // of the file, from fstat
    std::vector<std::uint8_t> in_;
    std::uint64_t compressed_read_ = 0;  // raw bytes taken from the file
    std::uint64_t offset_ = 0;
    std::string end_problem_;
};

}  // namespace tapegrad
