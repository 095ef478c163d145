/// \file
/// A training checkpoint in one .npz, enough to resume bit for bit:
///
/// \code{.unparsed}
///   model/<name>            the module's parameters and buffers (dtype T;
///                           int64 for integer buffers such as num_batches_tracked)
///   optim/buffer/<i>.<name> optimizer buffers (momentum, Adam moments; dtype T)
///   optim/scalar/<key>      optimizer scalars: lr, <i>.step (float64 0-d)
///   meta/epoch              int64 0-d
///   meta/scalar/<name>      free-form float64 0-d (best loss, scheduler counters)
///   meta/array/<name>       free-form float64 arrays
///   meta/text/<name>        free-form strings as uint8 arrays (e.g. an RNG's
///                           state, std::mt19937 streamed to text)
/// \endcode
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <xtensor/xarray.hpp>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::train {

/// What a checkpoint holds besides the model and the optimizer: the caller's
/// own state, stored under `meta/` (see the top of checkpoint.hpp). The names
/// are the caller's; they become parts of .npz entry names.
struct TrainingProgress {
    /// The number of epochs completed (`meta/epoch`).
    std::int64_t epoch = 0;
    /// Free-form numbers such as the best loss or a scheduler's counters
    /// (`meta/scalar/<name>`).
    std::map<std::string, double> scalars;
    /// Free-form float64 arrays such as the metrics history (`meta/array/<name>`).
    std::map<std::string, xt::xarray<double>> arrays;
    /// Free-form strings such as an RNG's state (`meta/text/<name>`), stored as
    /// bytes, so any bytes survive.
    std::map<std::string, std::string> texts;
};

/// Writes `module`'s parameters and buffers, `optimizer`'s state and `progress` to the
/// .npz file `path`, whole or not at all (io::write_file_atomically), so a
/// crash never leaves a half-written checkpoint. T is float or double.
/// Throws tapegrad::Error naming the file when it cannot be written.
template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& module, const optim::Optimizer<T>& optimizer,
                     const TrainingProgress& progress);

/// Restores module and optimizer and returns the progress. Everything is read
/// and validated first: on any error (Error naming the file and the
/// entry) neither the module nor the optimizer has changed. Errors include an
/// unreadable file, an entry outside the layout above, a missing `meta/epoch`,
/// and parameters or buffers whose names or shapes do not fit. T is float or
/// double.
template <class T>
TrainingProgress load_checkpoint(const std::string& path, nn::Module<T>& module, optim::Optimizer<T>& optimizer);

}  // namespace tapegrad::train
