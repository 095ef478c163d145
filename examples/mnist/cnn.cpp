#include "cnn.hpp"

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/pooling.hpp>

namespace mnist {

using namespace tapegrad;

std::shared_ptr<nn::Sequential<float>> make_cnn(std::size_t side, std::size_t classes, std::uint64_t seed) {
    // Each layer with weights draws from its own stream of `seed`, numbered
    // by its index in the Sequential.
    const auto conv = [&](std::size_t in, std::size_t out, std::uint64_t index) {
        return std::make_shared<nn::Conv2d<float>>(
            nn::Conv2dOptions(in, out, 5).padding(2).seed(derive_seed(seed, index)));
    };
    const auto linear = [&](std::size_t in, std::size_t out, std::uint64_t index) {
        return std::make_shared<nn::Linear<float>>(nn::LinearOptions(in, out).seed(derive_seed(seed, index)));
    };
    const std::size_t pooled = side / 2 / 2;  // each 2x2 max-pool halves the side, rounding down
    auto net = std::make_shared<nn::Sequential<float>>();
    net->push_back(conv(1, 16, 0));                                         // 0
    net->push_back(std::make_shared<nn::ReLU<float>>());                    // 1
    net->push_back(std::make_shared<nn::MaxPool2d<float>>(nn::MaxPool2dOptions(2)));              // 2
    net->push_back(conv(16, 32, 3));                                        // 3
    net->push_back(std::make_shared<nn::ReLU<float>>());                    // 4
    net->push_back(std::make_shared<nn::MaxPool2d<float>>(nn::MaxPool2dOptions(2)));              // 5
    net->push_back(std::make_shared<nn::Flatten<float>>());                 // 6
    net->push_back(linear(32 * pooled * pooled, 100, 7));                   // 7
    net->push_back(std::make_shared<nn::ReLU<float>>());                    // 8
    net->push_back(std::make_shared<nn::Dropout<float>>(0.25));             // 9
    net->push_back(linear(100, classes, 10));                               // 10
    return net;
}

}  // namespace mnist
