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
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/nn/sequential.hpp>

#include "../../examples/mnist/cnn.hpp"

namespace interchange {

using namespace tapegrad;

// The network called `name` in the fixtures ("cnn" or "bn"), and the side of its images.
struct Net {
    std::shared_ptr<nn::Sequential<float>> model;
    std::size_t side;
};

inline Net make_net(const std::string& name, std::uint64_t seed) {
    if (name == "cnn") return {mnist::make_cnn(28, 10, seed), 28};
    throw Error("interchange: no network '" + name + "'");
}

}  // namespace interchange
