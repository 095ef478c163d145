/// \file
/// Class labels: one class index per sample, as the classification losses
/// (autograd/ops.hpp) and the data sets (data/) exchange them. Its own header
/// so that code handling data need not include every op.
#pragma once

#include <cstdint>
#include <vector>

namespace tapegrad {

/// One class index per sample, in [0, classes).
using Labels = std::vector<std::int64_t>;

}  // namespace tapegrad
