// A training checkpoint in one .npz, enough to resume bit for bit:
//
//   model/<parameter>       the module's parameters (dtype T)
//   optim/buffer/<i>.<name> optimizer buffers (momentum, Adam moments; dtype T)
//   optim/scalar/<key>      optimizer scalars: lr, <i>.step (float64 0-d)
//   meta/epoch              int64 0-d
//   meta/scalar/<name>      free-form float64 0-d (best loss, scheduler counters)
//   meta/array/<name>       free-form float64 arrays
//   meta/text/<name>        free-form strings as uint8 arrays (e.g. an RNG's
//                           state, std::mt19937 streamed to text)
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <xtensor/xarray.hpp>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::train {

struct TrainingProgress {
    std::int64_t epoch = 0;
    std::map<std::string, double> scalars;
    std::map<std::string, xt::xarray<double>> arrays;
    std::map<std::string, std::string> texts;
};

template <class T>
void save_checkpoint(const std::string& path, const nn::Module<T>& module, const optim::Optimizer<T>& optimizer,
                     const TrainingProgress& progress);

// Restores module and optimizer and returns the progress. Everything is read
// and validated first: on any error (Error naming the file and the
// entry) neither the module nor the optimizer has changed.
template <class T>
TrainingProgress load_checkpoint(const std::string& path, nn::Module<T>& module, optim::Optimizer<T>& optimizer);

}  // namespace tapegrad::train
