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
/// `images` holds one sample per entry of its first axis: either a flat row
/// of height x width pixels (batch x height*width, as Dataset rows are), or
/// (batch, ..., height, width), e.g. (batch, channels, height, width) from a
/// Dataset with sample_shape {channels, height, width}. Returns a copy of the
/// same shape in which each sample is moved by dx, dy pixels, drawn uniformly
/// from [-max_shift, max_shift] for every sample on its own (all channels of
/// a sample move together); pixels moved in from outside are 0. The draws
/// depend only on `seed` and the sample's index, on every platform, so both
/// layouts of the same images move alike. max_shift 0 returns the images
/// unchanged. Not recorded on the tape: it is meant for input data, not for
/// values that need gradients. Throws an Error naming the shape when it is
/// neither layout, or when max_shift is not below both sides.
Tensor<float> random_shift(const Tensor<float>& images, std::size_t height, std::size_t width,
                           std::size_t max_shift, std::uint64_t seed);

}  // namespace tapegrad
