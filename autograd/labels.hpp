/// \file
/// Integer indices: class labels, one per sample (Labels), and index arrays of
/// any shape (Indices), as the ops that select, gather or classify by index
/// (autograd/ops.hpp), the losses and the data sets (data/) exchange them. Its
/// own header so that code handling data need not include every op.
#pragma once

#include <cstdint>
#include <vector>

#include <xtensor/xarray.hpp>

namespace tapegrad {

/// One class index per sample, in [0, classes).
using Labels = std::vector<std::int64_t>;

/// Integer indices of any shape, PyTorch's int64 index tensors: token ids for
/// an Embedding, the positions gather and scatter_add use, what argmax gives,
/// a class per position of a sequence for cross_entropy. They take no
/// gradient, so they are plain arrays rather than Tensors.
using Indices = xt::xarray<std::int64_t>;

}  // namespace tapegrad
