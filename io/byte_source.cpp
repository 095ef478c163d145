#include <tapegrad/io/byte_source.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <tapegrad/autograd/error.hpp>
#include <tapegrad/io/atomic_file.hpp>

namespace tapegrad::io {

namespace {
constexpr std::size_t kInputBuffer = std::size_t(1) << 16;

}  // namespace

RegularFile open_regular_file(const std::string& path) {
    const auto fail = [&](const std::string& why) { return Error("'" + path + "': " + why); };
    // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular
    // files are read (a FIFO would block reads forever, a directory fails late).
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw fail(std::string("cannot open for reading: ") + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        const int error = errno;
        ::close(fd);
        throw fail(std::string("cannot inspect: ") + std::strerror(error));
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        throw fail(std::string("is ") + file_type_name(info.st_mode) + ", not a regular file");
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return {fd, std::uint64_t(info.st_size)};
}

ByteSource::ByteSource(const std::string& path) : path_(path) {
    const auto [fd, size] = open_regular_file(path);
    size_ = size;
    file_ = ::fdopen(fd, "rb");
    if (!file_) {
        const int error = errno;
        ::close(fd);
        fail(std::string("cannot open for reading: ") + std::strerror(error));
    }
    const int b0 = std::fgetc(file_), b1 = std::fgetc(file_);
    gzip_ = b0 == 0x1f && b1 == 0x8b;
    std::rewind(file_);
    if (gzip_) {
        in_.resize(kInputBuffer);
        // 16 + MAX_WBITS: expect a gzip header and trailer, not a zlib one.
        if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
            std::fclose(file_);
            fail("zlib could not start inflating");
        }
    }
}

ByteSource::~ByteSource() {
    if (gzip_) inflateEnd(&zs_);
    std::fclose(file_);
}

void ByteSource::fail(const std::string& why) const { throw Error("file '" + path_ + "': " + why); }

std::size_t ByteSource::read(std::uint8_t* dst, std::size_t n) {
    const std::size_t got = gzip_ ? read_gzip(dst, n) : read_raw(dst, n);
    offset_ += got;
    return got;
}

std::size_t ByteSource::read_raw(std::uint8_t* dst, std::size_t n) {
    const std::size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_)) fail("read error at byte " + std::to_string(offset_ + got));
    return got;
}

bool ByteSource::refill() {
    const std::size_t got = std::fread(in_.data(), 1, in_.size(), file_);
    if (std::ferror(file_)) fail("read error at compressed byte " + std::to_string(compressed_read_));
    compressed_read_ += got;
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(got);
    return got > 0;
}

std::size_t ByteSource::read_gzip(std::uint8_t* dst, std::size_t n) {
    std::size_t done = 0;
    while (done < n && !stream_ended_) {
        if (zs_.avail_in == 0 && !refill()) {
            end_problem_ = "the gzip stream is cut off at compressed byte " + std::to_string(compressed_read_);
            return done;
        }
        zs_.next_out = dst + done;
        zs_.avail_out = static_cast<uInt>(std::min<std::size_t>(n - done, UINT_MAX));
        const uInt before = zs_.avail_out;
        const int ret = inflate(&zs_, Z_NO_FLUSH);
        done += before - zs_.avail_out;
        if (ret == Z_STREAM_END) {
            stream_ended_ = true;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            fail("corrupt gzip data near uncompressed byte " + std::to_string(offset_ + done) + ": " +
                 (zs_.msg ? zs_.msg : "zlib error " + std::to_string(ret)));
        }
    }
    if (stream_ended_ && done < n && !trailing_checked_) {
        // Concatenated gzip members are legal but never how IDX files ship;
        // anything after the first stream is garbage. Its size is the file's
        // size less where the stream ended: nothing more is read.
        trailing_checked_ = true;
        const std::uint64_t stream_end = compressed_read_ - zs_.avail_in;
        zs_.avail_in = 0;
        if (size_ > stream_end)
            end_problem_ = std::to_string(size_ - stream_end) + " bytes of trailing garbage after the gzip stream, "
                           "which ends at compressed byte " + std::to_string(stream_end);
    }
    return done;
}

}  // namespace tapegrad::io
