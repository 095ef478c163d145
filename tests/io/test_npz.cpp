// io::npz: what read() checks before inflating a member, and the .npy
// header variants numpy writes (Fortran order, versions 2 and 3).
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>

#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/io/npz.hpp>
#include <tapegrad/nn/mlp.hpp>
#include <tapegrad/nn/serialize.hpp>
#include "../common/zero_bombs.hpp"
#include "../nn/files.hpp"
#include "../reliability/resident_memory.hpp"
#include "../common/error_of.hpp"

using tapegrad::Error;
namespace npz = tapegrad::io::npz;
namespace nn = tapegrad::nn;
using tapegrad::testing::npy_header;
using tapegrad::testing::zip_with_zeros;

using tapegrad::testing::error_of;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Written by numpy 1.24 (np.lib.format.write_array) and copied here byte for
// byte: np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)), version 1.
const std::string numpy_fortran_f8 =
    std::string("\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00", 10) +
    "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }                                                           \n" +
    std::string("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x40\x00\x00\x00\x00\x00\x00\xf0\x3f\x00"
                "\x00\x00\x00\x00\x00\x10\x40\x00\x00\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x14\x40", 48);
// np.arange(6, dtype='<f4').reshape(2, 3), written with version=(2, 0); the
// same with version=(3, 0) differs only in the version byte.
const std::string numpy_v2_f4 =
    std::string("\x93\x4e\x55\x4d\x50\x59\x02\x00\x74\x00\x00\x00", 12) +
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                        \n" +
    std::string("\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40", 24);
const std::string numpy_v3_f4 =
    std::string("\x93\x4e\x55\x4d\x50\x59\x03\x00\x74\x00\x00\x00", 12) +
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                        \n" +
    std::string("\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40", 24);

}  // namespace

TEST_CASE("npz: a Fortran-ordered member reads with numpy's values at numpy's indices") {
    const xt::xarray<double> expected{{0, 1, 2}, {3, 4, 5}};
    const xt::xarray<double> direct = npz::from_npy<double>(numpy_fortran_f8, "fortran");
    CHECK(direct.shape() == expected.shape());
    CHECK(direct == expected);
    CHECK(direct(0, 1) == 1.0);  // not 3.0: the stored order is 0 3 1 4 2 5
    CHECK(direct(1, 0) == 3.0);
    TempDir dir;
    npz::write(dir.file("f.npz"), {{"w", numpy_fortran_f8}});
    CHECK(npz::from_npy<double>(npz::read(dir.file("f.npz")).at("w"), "w") == expected);
}

TEST_CASE("npz: an empty Fortran-ordered member reads as an empty array") {
    // What fuzz_npy found: memcpy from the data to the null storage of an
    // empty column-major array (undefined behaviour, which the sanitizer
    // pass's UBSan stops on).
    const std::string empty_fortran_f4 =
        std::string("\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00", 10) +
        "{'descr': '<f4', 'fortran_order': True , 'shape': (0, 3), }                                                          \n";
    const xt::xarray<float> empty = npz::from_npy<float>(empty_fortran_f4, "empty");
    CHECK(empty.shape() == std::vector<std::size_t>{0, 3});
    CHECK(empty.size() == 0);
}

TEST_CASE("npz: .npy versions 2 and 3 are read, other versions refused by name") {
    const xt::xarray<float> expected{{0, 1, 2}, {3, 4, 5}};
    CHECK(npz::from_npy<float>(numpy_v2_f4, "v2") == expected);
    CHECK(npz::from_npy<float>(numpy_v3_f4, "v3") == expected);
    TempDir dir;
    npz::write(dir.file("v.npz"), {{"two", numpy_v2_f4}, {"three", numpy_v3_f4}});
    const npz::Members members = npz::read(dir.file("v.npz"));
    CHECK(npz::from_npy<float>(members.at("two"), "two") == expected);
    CHECK(npz::from_npy<float>(members.at("three"), "three") == expected);

    std::string v4 = numpy_v2_f4;
    v4[6] = 4;
    CHECK(contains(error_of([&] { npz::from_npy<float>(v4, "'x'"); }), "unsupported .npy header version 4.0"));
    npz::write(dir.file("v4.npz"), {{"four", v4}});
    const std::string message = error_of([&] { npz::read(dir.file("v4.npz")); });
    CHECK(contains(message, "member 'four'"));
    CHECK(contains(message, "unsupported .npy header version 4.0"));
}

TEST_CASE("npz: a member of deflated zeros claiming 1 GiB is refused from its header, not inflated") {
    TempDir dir;
    // 1 MB on disk: a float32 member of shape (268435456,), all zeros, as
    // '0.weight' of a module whose '0.weight' is (2, 3).
    const std::string path = dir.file("bomb.npz");
    write_bytes(path, zip_with_zeros("0.weight.npy", npy_header("<f4", "(268435456,)"), 1024));
    auto net = nn::make_mlp<float>(nn::MLPOptions({3, 2}, "relu").init(nn::Init::PyTorchDefault).seed(1));
    const nn::StateDict<float> before = net->state_dict();
    const std::size_t rss_before = resident_bytes();
    const auto start = std::chrono::steady_clock::now();
    // Before: the whole GiB inflated (seconds, +1 GiB resident), then refused by shape.
    const std::string message = error_of([&] { nn::load(*net, path); });
    CHECK(contains(message, path));
    CHECK(contains(message, "member '0.weight' has shape (268435456,), expected (2, 3)"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    CHECK(resident_bytes() < rss_before + (std::size_t(64) << 20));
    CHECK(net->state_dict() == before);

    // Without expectations, members count against max_other_bytes (default
    // 1 GiB), checked from the header: a lower cap refuses it at once.
    const std::string capped = error_of([&] { npz::read(path, npz::ReadOptions().max_other_bytes(1 << 20)); });
    CHECK(contains(capped, "member '0.weight'"));
    CHECK(contains(capped, "1073741824 bytes of data would exceed the 1048576 bytes allowed"));
    CHECK(resident_bytes() < rss_before + (std::size_t(64) << 20));

    // The archive builder is sound: a small member built the same way reads back.
    write_bytes(path, zip_with_zeros("z.npy", npy_header("<f4", "(262144,)"), 1));
    CHECK(npz::from_npy<float>(npz::read(path).at("z"), "z") == xt::zeros<float>({262144}));
}

TEST_CASE("npz: names, dtypes and declared sizes are checked before any data is read") {
    TempDir dir;
    const std::string path = dir.file("m.npz");
    const std::string weights = npz::to_npy(xt::xarray<float>{{1, 2, 3}, {4, 5, 6}});
    npz::write(path, {{"w", weights}, {"extra", weights}});
    const npz::ReadOptions only_w = npz::ReadOptions().expect("w", npz::dtype_of<float>(), {2, 3}).others(false);
    CHECK(contains(error_of([&] { npz::read(path, only_w); }), "unexpected member 'extra'"));
    CHECK(contains(error_of([&] { npz::read(path, npz::ReadOptions().expect("w", "<f8", {2, 3})); }),
                   "member 'w' has dtype '<f4', expected '<f8'"));
    CHECK(npz::read(path, npz::ReadOptions().expect("w", "<f4", {2, 3})).size() == 2);

    // A header whose shape does not fit the member's size.
    std::string liar = weights;
    liar.replace(liar.find("(2, 3)"), 6, "(3, 3)");
    npz::write(path, {{"w", liar}});
    CHECK(contains(error_of([&] { npz::read(path); }), "its .npy header describes"));
    // A dtype tapegrad never reads, and a header claiming more than 64 KiB.
    std::string complex = weights;
    complex.replace(complex.find("<f4"), 3, "<c8");
    npz::write(path, {{"w", complex}});
    CHECK(contains(error_of([&] { npz::read(path); }), "dtype '<c8' is not one tapegrad reads"));
    std::string long_header = numpy_v2_f4;
    long_header[10] = 0x10;  // header length 0x100074
    npz::write(path, {{"w", long_header}});
    CHECK(contains(error_of([&] { npz::read(path); }), "more than the 65536 read"));
}

TEST_CASE("npz: a FIFO or a directory is named as what it is, never waited on") {
    TempDir dir;
    const std::string fifo = dir.file("weights.npz");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // In a child with an alarm: a reader that blocks fails instead of hanging the test.
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::alarm(5);
        const std::string message = error_of([&] { npz::read(fifo); });
        _exit(contains(message, fifo) && contains(message, "is a FIFO, not a regular file") ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(contains(error_of([&] { npz::read(dir.file("")); }), "is a directory, not a regular file"));
    CHECK(contains(error_of([&] { npz::read(dir.file("absent.npz")); }),
                   std::string("cannot open for reading: ") + std::strerror(ENOENT)));
}

TEST_CASE("npz: an empty member whose other extents overflow is refused, not handed to xtensor") {
    // Found by fuzz_npy: (0, 3, 99999995999999990, 37) holds no element, but
    // xtensor multiplies the extents into strides (signed overflow, UB).
    const std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (0, 3, 99999995999999990, 37), }";
    std::string npy = std::string("\x93NUMPY\x01\x00", 8);
    std::string text = header;
    while ((10 + text.size() + 1) % 64 != 0) text += ' ';
    text += '\n';
    npy += char(text.size() & 0xff);
    npy += char(text.size() >> 8);
    npy += text;
    CHECK(error_of([&] { npz::from_npy<std::int64_t>(npy, "'m'"); }).find("too large") != std::string::npos);
}
