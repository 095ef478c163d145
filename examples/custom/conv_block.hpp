// ConvBlock: ResNet's basic block, relu(x + bn2(conv2(relu(bn1(conv1(x)))))),
// two 3x3 convolutions that keep the channels and the image size, each
// followed by batch norm, around a skip connection.
//
// A module with state besides its weights: the batch norms' running means
// and variances are buffers, saved by state_dict() and nn::save beside the
// parameters ("conv1.weight", "bn1.running_mean", ...) and used instead of
// the batch's statistics after eval().
#pragma once

#include <memory>

#include <tapegrad/autograd/ops.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/normalization.hpp>

namespace custom_example {

// A 3x3 convolution that keeps the size (padding 1), without a bias: the
// batch norm after it has one.
inline std::shared_ptr<tapegrad::nn::Conv2d<float>> conv3x3(std::size_t in, std::size_t out, std::uint64_t seed) {
    return std::make_shared<tapegrad::nn::Conv2d<float>>(
        tapegrad::nn::Conv2dOptions(in, out, 3).padding(1).bias(false).seed(seed));
}

class ConvBlock : public tapegrad::nn::Module<float> {
public:
    // Each child is registered where its member is made, in declaration
    // order; register_module returns it typed.
    ConvBlock(std::size_t channels, std::uint64_t seed)
        : conv1_(register_module("conv1", conv3x3(channels, channels, tapegrad::derive_seed(seed, 0)))),
          bn1_(register_module<tapegrad::nn::BatchNorm2d<float>>("bn1", channels)),
          conv2_(register_module("conv2", conv3x3(channels, channels, tapegrad::derive_seed(seed, 1)))),
          bn2_(register_module<tapegrad::nn::BatchNorm2d<float>>("bn2", channels)) {}

    tapegrad::Tensor<float> forward(const tapegrad::Tensor<float>& x) override {
        const tapegrad::Tensor<float> h = tapegrad::relu((*bn1_)((*conv1_)(x)));
        return tapegrad::relu(x + (*bn2_)((*conv2_)(h)));
    }

private:
    std::shared_ptr<tapegrad::nn::Conv2d<float>> conv1_;
    std::shared_ptr<tapegrad::nn::BatchNorm2d<float>> bn1_;
    std::shared_ptr<tapegrad::nn::Conv2d<float>> conv2_;
    std::shared_ptr<tapegrad::nn::BatchNorm2d<float>> bn2_;
};

}  // namespace custom_example
