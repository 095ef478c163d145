// The convolutional parts (issue #12) given hostile arguments: geometry whose
// extents overflow or do not fit the signed offsets the kernels index with,
// windows far larger than the image, sizes whose products wrap. Each must
// give the right values or a tapegrad::Error naming the op, never a hang,
// undefined behaviour or a tensor whose shape disagrees with its data.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/data/augment.hpp>
#include <tapegrad/nn/conv.hpp>
#include "../common/error_of.hpp"

using namespace tapegrad;
using tapegrad::testing::error_of;

namespace {
constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
// 3 * inverse_of_3 wraps to exactly 1 in 64 bits: extents whose product a
// size_t multiplication reports as 1.
constexpr std::size_t inverse_of_3 = 0xAAAAAAAAAAAAAAABull;
}  // namespace

TEST_CASE("a pool window far larger than the image is found without stepping through its padding") {
    // One 1x1 image under a window of 2^50 pixels per side, half of them
    // padding before the image: the window's first pixel inside the image
    // was found by stepping from the padded start one pixel at a time
    // (2^49 steps: a hang).
    const std::size_t k = std::size_t(1) << 50;
    const auto x = Tensor<double>::full({1, 1, 1, 1}, 3.0);
    CHECK(max_pool2d(x, k, k, k / 2).data()(0, 0, 0, 0) == 3.0);
    CHECK(avg_pool2d(x, k, k, k / 2, false).data()(0, 0, 0, 0) == 3.0);
}

TEST_CASE("avg_pool2d divides by the window's size even when its product overflows size_t") {
    // A 2^32 x 2^32 window counting its padding: 2^64 pixels, which a size_t
    // product wrapped to 0, dividing by zero (inf) instead of by 2^64.
    const std::size_t k = std::size_t(1) << 32;
    const auto x = Tensor<double>::full({1, 1, 1, 1}, 1.0);
    CHECK(avg_pool2d(x, k, k, k / 2).data()(0, 0, 0, 0) == std::ldexp(1.0, -64));
}

TEST_CASE("conv2d refuses geometry beyond the signed offsets it indexes with") {
    // PyTorch's geometry is int64; a stride of 2^64 - 1 read as an offset of
    // -1 gave an all-zero output where the one output pixel reads x[0, 0, 0, 0].
    const auto x = Tensor<float>::ones({1, 1, 3, 3}), w = Tensor<float>::ones({1, 1, 1, 1});
    std::string message = error_of([&] { conv2d(x, w, Tensor<float>(), Conv2dGeometry().stride({1, most})); });
    INFO(message);
    CHECK(message.find("conv2d") != std::string::npos);
    CHECK(message.find("too large") != std::string::npos);
    // A dilation of 2^63 + 2 with a padding of 2^63 - 2: the second tap's
    // offset overflowed a signed subtraction (UBSan); both taps lie outside.
    const auto tall = Tensor<float>::ones({1, 1, 2, 1});
    message = error_of([&] {
        conv2d(x, tall, Tensor<float>(),
               Conv2dGeometry().stride({most, 1}).padding({most / 2 - 1, 0}).dilation({most / 2 + 3, 1}));
    });
    CHECK(message.find("too large") != std::string::npos);
    // The pools share the extents: a stride of 2^63 + 1 is refused there too.
    message = error_of([&] { max_pool2d(x, 1, {most / 2 + 2, 1}); });
    CHECK(message.find("max_pool2d") != std::string::npos);
    CHECK(message.find("too large") != std::string::npos);
}

TEST_CASE("Conv2d refuses a kernel whose weight's element count wraps around") {
    // (1, 1, 3, inverse_of_3) multiplies to 1 in size_t: the layer made a
    // weight of one value under a shape claiming 2^65 of them.
    manual_seed(5);
    const std::string message = error_of([] { nn::Conv2d<float>(nn::Conv2dOptions(1, 1, {3, inverse_of_3})); });
    INFO(message);
    CHECK(message.find("Conv2d") != std::string::npos);
    CHECK(message.find("too large") != std::string::npos);
    // The refused layer drew no seed: the global source is where it was.
    const std::uint64_t next = draw_seed();
    manual_seed(5);
    CHECK(draw_seed() == next);
    // A kernel_size of -1, read as 2^64 - 1, did the same: its square is 1.
    CHECK(error_of([] { nn::Conv2d<float>(nn::Conv2dOptions(3, 8, std::size_t(-1))); }).find("too large") !=
          std::string::npos);
}

TEST_CASE("random_shift refuses an image size whose pixel count wraps around") {
    // 3 x inverse_of_3 images "are" rows of 1 pixel: the shift then indexed
    // with the real width and ran off the buffer (SEGV).
    const std::string message = error_of([] { random_shift(Tensor<float>::ones({2, 1}), 3, inverse_of_3, 1, 7); });
    INFO(message);
    CHECK(message.find("random_shift") != std::string::npos);
    CHECK(message.find("too large") != std::string::npos);
}

TEST_CASE("conv2d: a padding of 2^62 beside a stride of 2^63 - 1 reads padding, not memory before the image") {
    // The one output column reads column -(2^62 - 1): padding, so 0. Finding
    // the first column inside the image added the padding to the stride in
    // an Index (signed overflow), and the output read 2^62 floats before the
    // image (SEGV).
    const auto x = Tensor<float>::ones({1, 1, 1, 1});
    const Tensor<float> y = conv2d(x, x, Tensor<float>(), Conv2dGeometry().stride({1, most / 2}).padding({0, most / 4}));
    REQUIRE(y.shape() == Shape{1, 1, 1, 1});
    CHECK(y.data()(0, 0, 0, 0) == 0.0f);
}
