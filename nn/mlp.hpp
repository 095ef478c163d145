// The notebook's fully connected network: Linear layers with an activation
// between them and none after the last (the loss takes the raw logits).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

// make_mlp<float>({784, 100, 100, 10}, "sigmoid", Init::StandardNormal, 42)
// gives Linear(784,100), Sigmoid, Linear(100,100), Sigmoid, Linear(100,10);
// layer k draws its weights from derive_seed(seed, k).
template <class T>
std::shared_ptr<Sequential<T>> make_mlp(const std::vector<std::size_t>& sizes, const std::string& activation,
                                        Init init = Init::PyTorchDefault, std::uint64_t seed = 0);

}  // namespace tapegrad::nn
