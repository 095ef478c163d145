// The networks of the interchange fixtures, as make_fixtures.py builds them
// in PyTorch: the mnist example's CNN (examples/mnist/cnn.hpp) and a small
// network with both batch norms.
#pragma once

#include <memory>
#include <string>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/sequential.hpp>

#include "../../examples/mnist/cnn.hpp"

namespace interchange {

using namespace tapegrad;

// nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
//               nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
// for 8x8 images.
inline std::shared_ptr<nn::Sequential<float>> batchnorm_net(std::uint64_t seed) {
    auto net = std::make_shared<nn::Sequential<float>>();
    net->push_back(std::make_shared<nn::Conv2d<float>>(nn::Conv2dOptions(1, 4, 3).padding(1).seed(derive_seed(seed, 0))));
    net->push_back(std::make_shared<nn::BatchNorm2d<float>>(4));
    net->push_back(std::make_shared<nn::ReLU<float>>());
    net->push_back(std::make_shared<nn::MaxPool2d<float>>(nn::MaxPool2dOptions(2)));
    net->push_back(std::make_shared<nn::Flatten<float>>());
    net->push_back(std::make_shared<nn::Linear<float>>(nn::LinearOptions(64, 8).seed(derive_seed(seed, 5))));
    net->push_back(std::make_shared<nn::BatchNorm1d<float>>(8));
    net->push_back(std::make_shared<nn::ReLU<float>>());
    net->push_back(std::make_shared<nn::Linear<float>>(nn::LinearOptions(8, 3).seed(derive_seed(seed, 8))));
    return net;
}

// The network called `name` in the fixtures ("cnn" or "bn"), and the side of its images.
struct Net {
    std::shared_ptr<nn::Sequential<float>> model;
    std::size_t side;
};

inline Net make_net(const std::string& name, std::uint64_t seed) {
    if (name == "cnn") return {mnist::make_cnn(28, 10, seed), 28};
    if (name == "bn") return {batchnorm_net(seed), 8};
    throw Error("interchange: no network '" + name + "'");
}

}  // namespace interchange
