// The --model cnn network, with PyTorch's layer order so that its parameter
// names (0.weight, 3.weight, 7.weight, 10.weight) and layouts are those of
//
//   nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
//                 nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
//                 nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(),
//                 nn.Dropout(0.25), nn.Linear(100, 10))
//
// and a state_dict saved by either loads into the other (tests/interchange).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <tapegrad/nn/sequential.hpp>

namespace mnist {

// Two 2x2 poolings need at least 4x4 images.
constexpr std::size_t cnn_min_side = 4;

// The CNN for side x side single-channel images (28 for MNIST: the first
// Linear then has 32 * 7 * 7 = 1568 inputs) and `classes` outputs, its
// weights initialised as PyTorch's layers are by default, from `seed`.
std::shared_ptr<tapegrad::nn::Sequential<float>> make_cnn(std::size_t side, std::size_t classes, std::uint64_t seed);

}  // namespace mnist
