/// \file
/// The loss and accuracy curves of a run as a standalone SVG: two panels
/// (loss, accuracy; the loss alone for a run on targets), each with train
/// and validation curves, axes, ticks, labels and a legend. Hand-written
/// text; no plotting library.
#pragma once

#include <cstddef>
#include <string>

#include <tapegrad/train/history.hpp>

namespace tapegrad::train {

/// The text of an SVG file plotting `history`, ready to be written out.
/// best_epoch > 0 draws a dashed line there (the weights early stopping kept).
/// A history without accuracies (all NaN: a run on targets) gets the loss
/// panel alone.
std::string plot_svg(const History& history, std::size_t best_epoch);

}  // namespace tapegrad::train
