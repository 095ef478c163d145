/// \file
/// Weight initialisers for Linear layers. Every one draws from an explicit
/// seed, so two runs with the same seed build identical networks. Independent
/// seeds for the parts of one model (layer k's weight, its bias) come from one
/// seed through tapegrad::derive_seed (autograd/random.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad::nn {

/// How a Linear layer's weight W and bias b start. U(lo, hi) is uniform,
/// N(0, v) normal with variance v; fan_in and fan_out are the layer's input
/// and output sizes.
enum class Init {
    PyTorchDefault,  ///< W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as nn.Linear.reset_parameters
    XavierUniform,   ///< W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); b = 0
    XavierNormal,    ///< W ~ N(0, 2 / (fan_in + fan_out)); b = 0
    KaimingUniform,  ///< W ~ U(-a, a), a = sqrt(6 / fan_in) (ReLU gain); b = 0
    KaimingNormal,   ///< W ~ N(0, 2 / fan_in); b = 0
    StandardNormal,  ///< W, b ~ N(0, 1): the notebook's np.random.randn
};

/// Weight of shape (fan_out, fan_in), bias of shape (fan_out,).
///
/// A new tensor (no requires_grad) drawn from `seed` as `init` says: the same
/// arguments always give the same values.
template <class T>
Tensor<T> init_weight(Init init, std::size_t fan_in, std::size_t fan_out, std::uint64_t seed);
/// The bias of shape (fan_out,) for `init`: drawn from `seed` for
/// PyTorchDefault and StandardNormal, zeros otherwise (`seed` unused).
template <class T>
Tensor<T> init_bias(Init init, std::size_t fan_in, std::size_t fan_out, std::uint64_t seed);

/// The initialiser's name in snake case, e.g. "xavier_uniform" (the mnist
/// example's `--init` values). A static string, never null.
const char* init_name(Init init);

}  // namespace tapegrad::nn
