// io/byte_source: open_regular_file, the one open of a file to read (npz and
// ByteSource share it), and ByteSource's raw and gzip bytes. The readers
// built on them (tests/data/test_idx.cpp, tests/io/test_npz.cpp) check that
// their own errors carry these messages.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include <tapegrad/io/byte_source.hpp>
#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "../common/zero_bombs.hpp"

using tapegrad::io::ByteSource;
using tapegrad::io::open_regular_file;
using tapegrad::testing::error_of;
using tapegrad::testing::TempDir;

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_all(ByteSource& in) {
    std::string out;
    std::uint8_t chunk[7];  // smaller than the data: several reads
    for (std::size_t got; (got = in.read(chunk, sizeof chunk)) > 0;) out.append(reinterpret_cast<char*>(chunk), got);
    return out;
}

}  // namespace

TEST_CASE("io: open_regular_file opens a regular file, blocking, with its size") {
    TempDir dir;
    write_bytes(dir.file("f"), "twelve bytes");
    const tapegrad::io::RegularFile file = open_regular_file(dir.file("f"));
    REQUIRE(file.fd >= 0);
    CHECK(file.size == 12);
    // Opened O_NONBLOCK (so a FIFO cannot hang the open), then made blocking
    // again for the reader.
    CHECK((::fcntl(file.fd, F_GETFL) & O_NONBLOCK) == 0);
    CHECK((::fcntl(file.fd, F_GETFD) & FD_CLOEXEC) != 0);
    char text[12];
    CHECK(::read(file.fd, text, sizeof text) == 12);
    CHECK(std::string(text, 12) == "twelve bytes");
    ::close(file.fd);
}

TEST_CASE("io: open_regular_file refuses a missing file, a directory and a FIFO, naming the path and why") {
    TempDir dir;
    const std::string absent = dir.file("absent");
    CHECK(error_of([&] { open_regular_file(absent); }) ==
          "'" + absent + "': cannot open for reading: " + std::strerror(ENOENT));
    CHECK(error_of([&] { open_regular_file(dir.path().string()); }) ==
          "'" + dir.path().string() + "': is a directory, not a regular file");
    // Opening a FIFO nobody writes returns at once (O_NONBLOCK) and is refused.
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(error_of([&] { open_regular_file(fifo); }) == "'" + fifo + "': is a FIFO, not a regular file");
    // ByteSource opens through it: the same refusals.
    CHECK(error_of([&] { ByteSource in(dir.path().string()); }) ==
          "'" + dir.path().string() + "': is a directory, not a regular file");
    CHECK(error_of([&] { ByteSource in(absent); }) ==
          "'" + absent + "': cannot open for reading: " + std::strerror(ENOENT));
}

TEST_CASE("io: ByteSource reads raw bytes, and gzip inflated, counting the offset") {
    TempDir dir;
    const std::string text = "the bytes of a file, long enough for a few reads";
    write_bytes(dir.file("raw"), text);
    ByteSource raw(dir.file("raw"));
    CHECK(!raw.compressed());
    CHECK(read_all(raw) == text);
    CHECK(raw.offset() == text.size());
    CHECK(raw.end_problem().empty());
    CHECK(raw.path() == dir.file("raw"));

    write_bytes(dir.file("gz"), tapegrad::testing::gzip_with_zeros(text, 0));
    ByteSource gz(dir.file("gz"));
    CHECK(gz.compressed());
    CHECK(read_all(gz) == text);
    CHECK(gz.offset() == text.size());
    CHECK(gz.end_problem().empty());

    // After the gzip stream, what is left is named with where the stream ends.
    const std::string stream = tapegrad::testing::gzip_with_zeros(text, 0);
    write_bytes(dir.file("trailing"), stream + "xyz");
    ByteSource trailing(dir.file("trailing"));
    CHECK(read_all(trailing) == text);
    CHECK(trailing.end_problem() == "3 bytes of trailing garbage after the gzip stream, which ends at compressed byte " +
                                        std::to_string(stream.size()));

    // Cut short: the end says where.
    write_bytes(dir.file("cut"), stream.substr(0, stream.size() - 4));
    ByteSource cut(dir.file("cut"));
    read_all(cut);
    CHECK(cut.end_problem() == "the gzip stream is cut off at compressed byte " + std::to_string(stream.size() - 4));
}
