#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>

#include <zlib.h>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/data/idx.hpp>
#include "../reliability/resident_memory.hpp"
#include "helpers.hpp"

using namespace tapegrad;
using namespace tapegrad::testing;

namespace {

IdxImages sample_images(std::size_t count, std::size_t rows, std::size_t cols) {
    IdxImages images{count, rows, cols, {}};
    for (std::size_t i = 0; i < count * rows * cols; ++i) images.pixels.push_back(static_cast<std::uint8_t>(i * 7 + 3));
    return images;
}


void write_gzip(const std::string& path, const std::vector<unsigned char>& bytes) {
    gzFile out = gzopen(path.c_str(), "wb");
    REQUIRE(out != nullptr);
    REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    REQUIRE(gzclose(out) == Z_OK);
}


}  // namespace

TEST_CASE("idx: images and labels round-trip, raw and gzip") {
    TempDir dir;
    const IdxImages images = sample_images(5, 3, 4);
    const std::vector<std::uint8_t> labels{9, 0, 4, 4, 1};
    for (const bool gzip : {false, true}) {
        CAPTURE(gzip);
        const std::string ipath = dir.file(gzip ? "img.gz" : "img"), lpath = dir.file(gzip ? "lab.gz" : "lab");
        write_idx_images(ipath, images, gzip);
        write_idx_labels(lpath, labels, gzip);

        const auto bytes = read_bytes(ipath);
        if (gzip) {
            CHECK(bytes.at(0) == 0x1f);
            CHECK(bytes.at(1) == 0x8b);
        } else {
            REQUIRE(bytes.size() == 16 + 60);
            CHECK(std::vector<unsigned char>(bytes.begin(), bytes.begin() + 16) ==
                  std::vector<unsigned char>{0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0, 4});
            CHECK(read_bytes(lpath) == std::vector<unsigned char>{0, 0, 8, 1, 0, 0, 0, 5, 9, 0, 4, 4, 1});
        }

        const IdxImages back = read_idx_images(ipath);
        CHECK(back.count == 5);
        CHECK(back.rows == 3);
        CHECK(back.cols == 4);
        CHECK(back.pixels == images.pixels);
        CHECK(read_idx_labels(lpath) == labels);
    }
}

TEST_CASE("idx: an empty set of labels is valid") {
    TempDir dir;
    write_idx_labels(dir.file("lab"), {});
    CHECK(read_idx_labels(dir.file("lab")).empty());
}

TEST_CASE("idx: a raw file truncated anywhere names the file and the byte") {
    TempDir dir;
    write_idx_images(dir.file("full"), sample_images(2, 2, 3));
    const auto bytes = read_bytes(dir.file("full"));  // 16 + 12 bytes
    for (const std::size_t cut : {0, 2, 4, 7, 15, 16, 17, 27}) {
        CAPTURE(cut);
        const std::string path = dir.file("cut");
        write_bytes(path, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
        const std::string msg = error_of([&] { read_idx_images(path); });
        CHECK(contains(msg, path));
        CHECK(contains(msg, "truncated at byte " + std::to_string(cut)));
        CHECK(contains(msg, cut < 4 ? "magic" : cut < 16 ? "header" : "pixels"));
    }
}

TEST_CASE("idx: a truncated gzip file is an error, including a cut in its trailer") {
    TempDir dir;
    write_idx_labels(dir.file("full.gz"), std::vector<std::uint8_t>(1000, 7), true);
    const auto bytes = read_bytes(dir.file("full.gz"));
    REQUIRE(bytes.size() > 20);
    for (const std::size_t cut : {std::size_t(2), std::size_t(12), bytes.size() / 2, bytes.size() - 8,
                                  bytes.size() - 4, bytes.size() - 1}) {
        CAPTURE(cut);
        const std::string path = dir.file("cut.gz");
        write_bytes(path, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
        const std::string msg = error_of([&] { read_idx_labels(path); });
        CHECK(contains(msg, path));
        CHECK(contains(msg, "gzip"));
    }
}

TEST_CASE("idx: a damaged gzip body or checksum is an error") {
    TempDir dir;
    write_idx_labels(dir.file("ok.gz"), std::vector<std::uint8_t>(1000, 7), true);
    auto bytes = read_bytes(dir.file("ok.gz"));
    bytes[bytes.size() - 6] ^= 0xff;  // inside the CRC32 of the trailer
    write_bytes(dir.file("bad.gz"), bytes);
    CHECK(contains(error_of([&] { read_idx_labels(dir.file("bad.gz")); }), "corrupt gzip data"));
}

TEST_CASE("idx: a labels file read as images, or the reverse, says so") {
    TempDir dir;
    write_idx_labels(dir.file("labels"), {1, 2, 3});
    write_idx_images(dir.file("images"), sample_images(1, 2, 2));
    const std::string as_images = error_of([&] { read_idx_images(dir.file("labels")); });
    CHECK(contains(as_images, dir.file("labels")));
    CHECK(contains(as_images, "is an IDX labels file"));
    CHECK(contains(error_of([&] { read_idx_labels(dir.file("images")); }), "is an IDX images file"));
}

TEST_CASE("idx: foreign files and other IDX types are rejected by their magic") {
    TempDir dir;
    const std::string path = dir.file("x");
    write_bytes(path, {'P', 'K', 3, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0});
    CHECK(contains(error_of([&] { read_idx_images(path); }), "not an IDX file: magic 0x504b0304"));
    write_bytes(path, {0, 0, 0x0d, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1});  // float elements
    CHECK(contains(error_of([&] { read_idx_images(path); }), "is not unsigned byte"));
    write_bytes(path, {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0});  // a matrix
    CHECK(contains(error_of([&] { read_idx_images(path); }), "2 dimensions"));
    write_bytes(path, {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5});  // 0 rows
    CHECK(contains(error_of([&] { read_idx_images(path); }), "0 x 5 pixels"));
    CHECK(contains(error_of([&] { read_idx_images(dir.file("absent")); }), "cannot open"));
}

TEST_CASE("idx: a huge count in the header fails on truncation or the cap, not allocation") {
    TempDir dir;
    const std::string path = dir.file("liar");
    // 60000 x 28 x 28 (47 MB, under the cap), then 3 bytes: read as they arrive.
    write_bytes(path, {0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3});
    CHECK(contains(error_of([&] { read_idx_images(path); }), "truncated at byte 19"));
    // 2^32 - 1 images of 65535 x 65535: beyond the cap, refused by the header alone.
    write_bytes(path, {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 1, 2, 3});
    CHECK(contains(error_of([&] { read_idx_images(path); }), "more than the 1073741824 bytes allowed"));
}

TEST_CASE("idx: bytes after the data are trailing garbage, raw or gzip") {
    TempDir dir;
    write_idx_labels(dir.file("raw"), {1, 2});
    auto raw = read_bytes(dir.file("raw"));
    raw.insert(raw.end(), {0, 0, 0});
    write_bytes(dir.file("raw"), raw);
    const std::string msg = error_of([&] { read_idx_labels(dir.file("raw")); });
    CHECK(contains(msg, dir.file("raw")));
    CHECK(contains(msg, "trailing garbage after the data, which ends at byte 10"));

    // Extra bytes inside the compressed data ...
    write_idx_images(dir.file("plain"), sample_images(1, 2, 2));
    auto inner = read_bytes(dir.file("plain"));
    inner.push_back(42);
    write_gzip(dir.file("in.gz"), inner);
    CHECK(contains(error_of([&] { read_idx_images(dir.file("in.gz")); }),
                   "trailing garbage after the data, which ends at byte 20 of the uncompressed data"));

    // ... and after the gzip stream, which zlib's gzread would skip silently.
    write_idx_images(dir.file("out.gz"), sample_images(1, 2, 2), true);
    auto gz = read_bytes(dir.file("out.gz"));
    gz.insert(gz.end(), {'j', 'u', 'n', 'k'});
    write_bytes(dir.file("out.gz"), gz);
    CHECK(contains(error_of([&] { read_idx_images(dir.file("out.gz")); }), "4 bytes of trailing garbage after the gzip"));
}

TEST_CASE("idx: writers refuse inconsistent images and leave no temporary file") {
    TempDir dir;
    IdxImages bad = sample_images(2, 2, 2);
    bad.pixels.pop_back();
    CHECK(contains(error_of([&] { write_idx_images(dir.file("bad"), bad); }), "7 pixels given for 2 images"));
    CHECK_FALSE(std::filesystem::exists(dir.file("bad")));

    write_idx_labels(dir.file("lab"), {1});
    write_idx_labels(dir.file("lab"), {2, 3});  // replaces the file whole
    CHECK(read_idx_labels(dir.file("lab")) == std::vector<std::uint8_t>{2, 3});
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.file(""))) ++files;
    CHECK(files == 1);
}

TEST_CASE("idx: a small .gz that inflates to gigabytes is refused by the header or at the first extra byte") {
    TempDir dir;
    const std::size_t rss_before = resident_bytes();
    // A header claiming 1.5 GiB of labels, and 1.5 GiB of zeros behind it in a
    // 1.5 MB file: refused by the 1 GiB cap before anything is allocated
    // (before: 1.5 GiB allocated and returned).
    const std::string bomb = dir.file("bomb.gz");
    write_bytes(bomb, gzip_bytes_with_zeros({0, 0, 8, 1, 0x60, 0, 0, 0}, 1536));
    CHECK(contains(error_of([&] { read_idx_labels(bomb); }), "header claims 1610612736 bytes of labels"));
    // Two honest labels, then 8 GiB of zeros in an 8 MB file: refused at the
    // first extra byte (before: all 8 GiB inflated to count them, seconds).
    const std::string tail = dir.file("tail.gz");
    write_bytes(tail, gzip_bytes_with_zeros({0, 0, 8, 1, 0, 0, 0, 2, 7, 9}, 8192));
    const auto start = std::chrono::steady_clock::now();
    CHECK(contains(error_of([&] { read_idx_labels(tail); }), "trailing garbage after the data, which ends at byte 10"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(resident_bytes() < rss_before + (std::size_t(64) << 20));
    // The same file without the zeros is fine: the builder is sound.
    write_bytes(tail, gzip_bytes_with_zeros({0, 0, 8, 1, 0, 0, 0, 2, 7, 9}, 0));
    CHECK(read_idx_labels(tail) == std::vector<std::uint8_t>{7, 9});
}

TEST_CASE("idx: the cap is the caller's to raise or lower") {
    TempDir dir;
    write_idx_images(dir.file("img"), sample_images(4, 2, 2));
    write_idx_labels(dir.file("lab"), {1, 2, 3, 4});
    CHECK(contains(error_of([&] { read_idx_images(dir.file("img"), 15); }), "16 bytes of pixels, more than the 15"));
    CHECK(contains(error_of([&] { read_idx_labels(dir.file("lab"), 3); }), "4 bytes of labels, more than the 3"));
    CHECK(read_idx_images(dir.file("img"), 16).pixels.size() == 16);
    CHECK(read_idx_labels(dir.file("lab"), 4).size() == 4);
}

TEST_CASE("idx: a FIFO, a directory or a missing file is named as what it is, with the system's reason") {
    TempDir dir;
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // In a child with an alarm, so a reader that blocks (it did, forever)
    // fails the test instead of hanging it.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::alarm(5);
        const std::string message = error_of([&] { read_idx_images(fifo); });
        _exit(contains(message, fifo) && contains(message, "is a FIFO, not a regular file") ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

    const std::string folder = dir.file("folder");
    REQUIRE(::mkdir(folder.c_str(), 0700) == 0);
    CHECK(contains(error_of([&] { read_idx_labels(folder); }), "is a directory, not a regular file"));
    const std::string absent = error_of([&] { read_idx_labels(dir.file("absent")); });
    CHECK(contains(absent, dir.file("absent")));
    CHECK(contains(absent, std::string("cannot open for reading: ") + std::strerror(ENOENT)));
}
