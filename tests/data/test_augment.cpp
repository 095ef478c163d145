// random_shift: every image moved by its own offset within the bound, the
// vacated border zero, the same draws for the same seed.
#include <set>
#include <utility>

#include <doctest/doctest.h>

#include <tapegrad/data/augment.hpp>

using namespace tapegrad;

namespace {
// Distinct values everywhere (1 + index), so that a shift is identifiable.
Tensor<float> numbered_images(std::size_t rows, std::size_t height, std::size_t width) {
    std::vector<float> values(rows * height * width);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i % (height * width) + 1);
    return Tensor<float>::from_data(values, {rows, height * width});
}

// The image at `row` of `src` moved down by dy and right by dx, zero-filled.
std::vector<float> moved(const Tensor<float>& src, std::size_t row, std::size_t h, std::size_t w, long dy, long dx) {
    std::vector<float> out(h * w, 0.0f);
    for (long y = 0; y < long(h); ++y)
        for (long x = 0; x < long(w); ++x) {
            const long sy = y - dy, sx = x - dx;
            if (sy >= 0 && sy < long(h) && sx >= 0 && sx < long(w))
                out[std::size_t(y) * w + std::size_t(x)] = src.at({row, std::size_t(sy) * w + std::size_t(sx)});
        }
    return out;
}

std::vector<float> row_of(const Tensor<float>& t, std::size_t row) {
    const std::size_t n = t.shape()[1];
    return std::vector<float>(t.data().data() + row * n, t.data().data() + (row + 1) * n);
}
}  // namespace

TEST_CASE("random_shift moves each image by an offset within the bound and zero-fills the border") {
    const std::size_t rows = 300, h = 5, w = 7, max_shift = 2;
    const Tensor<float> images = numbered_images(rows, h, w);
    const Tensor<float> shifted = random_shift(images, h, w, max_shift, 11);
    REQUIRE(shifted.shape() == Shape{rows, h * w});
    std::set<std::pair<long, long>> seen;
    for (std::size_t r = 0; r < rows; ++r) {
        CAPTURE(r);
        // Exactly one offset in the allowed range explains the output row.
        int matches = 0;
        for (long dy = -long(max_shift); dy <= long(max_shift); ++dy)
            for (long dx = -long(max_shift); dx <= long(max_shift); ++dx)
                if (moved(images, r, h, w, dy, dx) == row_of(shifted, r)) {
                    ++matches;
                    seen.insert({dy, dx});
                }
        CHECK(matches == 1);
    }
    // 300 draws from 25 offsets: every one of them turns up (a draw that
    // ignored dx or dy, or never went negative, would miss most of them).
    CHECK(seen.size() == 25);
}

TEST_CASE("random_shift is fixed by its seed, and 0 leaves the images alone") {
    const Tensor<float> images = numbered_images(50, 6, 6);
    const Tensor<float> a = random_shift(images, 6, 6, 1, 3);
    const Tensor<float> b = random_shift(images, 6, 6, 1, 3);
    const Tensor<float> c = random_shift(images, 6, 6, 1, 4);
    CHECK(a.data() == b.data());
    CHECK(a.data() != c.data());
    CHECK(random_shift(images, 6, 6, 0, 3).data() == images.data());
}

TEST_CASE("random_shift refuses shapes that are not rows of images, and shifts that do not fit") {
    const Tensor<float> images = numbered_images(4, 4, 4);
    CHECK_THROWS_WITH_AS(random_shift(images, 4, 5, 1, 0),
                         "random_shift: expects rows of 4x5 images or (batch, ..., 4, 5), got shape (4, 16)", Error);
    CHECK_THROWS_WITH_AS(random_shift(Tensor<float>::zeros({16}), 4, 4, 1, 0),
                         "random_shift: expects rows of 4x4 images or (batch, ..., 4, 4), got shape (16,)", Error);
    CHECK_THROWS_WITH_AS(random_shift(Tensor<float>::zeros({2, 1, 4, 5}), 4, 4, 1, 0),
                         "random_shift: expects rows of 4x4 images or (batch, ..., 4, 4), got shape (2, 1, 4, 5)",
                         Error);
    CHECK_THROWS_WITH_AS(random_shift(images, 4, 4, 4, 0),
                         "random_shift: a shift of up to 4 pixels does not fit 4x4 images", Error);
}

TEST_CASE("random_shift moves (batch, 1, height, width) images as it moves the same images as rows") {
    const std::size_t rows = 40, h = 5, w = 6;
    const Tensor<float> flat = numbered_images(rows, h, w);
    const Tensor<float> as_images = Tensor<float>::from_data(
        std::vector<float>(flat.data().begin(), flat.data().end()), {rows, 1, h, w});
    const Tensor<float> shifted = random_shift(as_images, h, w, 2, 9);
    REQUIRE(shifted.shape() == Shape{rows, 1, h, w});
    const Tensor<float> reference = random_shift(flat, h, w, 2, 9);
    CHECK(std::equal(shifted.data().begin(), shifted.data().end(), reference.data().begin()));
    CHECK(shifted.data() != as_images.data());  // it did move them
}

TEST_CASE("random_shift moves every channel of a sample by the same offset") {
    const std::size_t rows = 30, channels = 3, h = 4, w = 5;
    // Channel c of sample r holds the numbered image times (c + 1).
    std::vector<float> values(rows * channels * h * w);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i % (h * w) + 1) * float(i / (h * w) % channels + 1);
    const Tensor<float> images = Tensor<float>::from_data(values, {rows, channels, h, w});
    const Tensor<float> shifted = random_shift(images, h, w, 1, 5);
    REQUIRE(shifted.shape() == images.shape());
    const Tensor<float> first_channel = random_shift(numbered_images(rows, h, w), h, w, 1, 5);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < channels; ++c)
            for (std::size_t p = 0; p < h * w; ++p) {
                CAPTURE(r);
                CAPTURE(c);
                CHECK(shifted.data().data()[(r * channels + c) * h * w + p] ==
                      first_channel.at({r, p}) * float(c + 1));
            }
}
