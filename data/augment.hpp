/// \file
/// Random translations of images, the classic augmentation for digits: a
/// network that sees each digit moved by a pixel or two learns that position
/// does not matter, which a small training set cannot teach it otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Each image of `images` moved by a random number of pixels along each axis.
///
/// `images` holds one height x width image per row, flattened row by row.
/// Returns a copy in which each image is moved by dx, dy pixels, each drawn
/// uniformly from [-max_shift, max_shift] for every image on its own; pixels
/// moved in from outside are 0. The draws depend only on `seed` and the row, on
/// every platform. max_shift 0 returns the images unchanged. Not recorded on
/// the tape: it is meant for input data, not for values that need gradients. Throws an Error
/// naming the shape when a row is not height x width, or when max_shift is not
/// below both sides.
Tensor<float> random_shift(const Tensor<float>& images, std::size_t height, std::size_t width,
                           std::size_t max_shift, std::uint64_t seed);

}  // namespace tapegrad
