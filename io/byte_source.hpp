/// \file
/// Reading files: open_regular_file, the one way tapegrad opens a file to
/// read it (the npz reader and ByteSource), and ByteSource, the bytes of a
/// file, raw or gzip-compressed, for readers that must reject damaged files
/// (the IDX reader, a word list).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

namespace tapegrad::io {

/// A file open_regular_file opened: its descriptor, which the caller owns
/// (and closes), and its size when it was opened.
struct RegularFile {
    int fd = -1;            ///< open for reading, blocking, close-on-exec
    std::uint64_t size = 0;  ///< bytes, from fstat
};

/// Opens `path` for reading if it is a regular file. Throws tapegrad::Error
/// "'PATH': cannot open for reading: <the system's reason>", or "'PATH': is a
/// FIFO, not a regular file" (a directory, a device, a socket): only a
/// regular file is ever read, and opening a FIFO never waits for a writer.
RegularFile open_regular_file(const std::string& path);

/// The bytes of a file, inflated on the fly when it begins with the gzip magic
/// (1f 8b). Unlike zlib's gzread, which silently ignores anything after a gzip
/// stream, it reports how the data ended, so callers can reject damaged files.
///
/// Owns the open file until destroyed; not copyable. Not safe to use from
/// several threads at once.
class ByteSource {
public:
    /// Opens `path` (open_regular_file, whose errors it throws: nothing but a
    /// regular file is read, so nothing can block) and looks at its first
    /// bytes to tell gzip from raw.
    explicit ByteSource(const std::string& path);
    /// Closes the file.
    ~ByteSource();
    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;

    /// Up to n bytes into dst; fewer only when the data ends. Returns how many
    /// were read. Throws tapegrad::Error naming the file on a read error or on
    /// corrupt gzip data (bad deflate stream, CRC or length mismatch).
    std::size_t read(std::uint8_t* dst, std::size_t n);

    /// Once read() has come up short: why the data ended, or "" when the file
    /// simply ended (raw) or the gzip stream ended exactly at the end of the file.
    const std::string& end_problem() const { return end_problem_; }

    /// True when the file is gzip-compressed (it begins with 1f 8b).
    bool compressed() const { return gzip_; }
    /// Bytes delivered so far by read(), counted after decompression: where a
    /// reader's error message says the problem is.
    std::uint64_t offset() const { return offset_; }  // bytes delivered so far (uncompressed)
    /// The path given to the constructor, for error messages.
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

}  // namespace tapegrad::io
